"""Read a pinned ``requirements.txt`` with ``--hash`` options (pip-compile, ``envsnap export``) into a lock.

Every requirement must be an exact pin (``==``) or a direct reference; markers are evaluated for this
host (a requirements file may list packages for other platforms). A single hash becomes the package's
artifact hash; several hashes (one per file of a release: what pip-tools and ``uv pip compile
--generate-hashes`` write) are all kept as the package's ``candidates``, and ``envsnap pin`` picks the file
that fits the target from them. Index options become the artifacts' index: the primary index for plain
versions, the one extra index for local version labels (``+cu121``), as envsnap writes them.

The source trees envsnap's own export lists as comments (``#   pip install --no-deps -e PATH``) are read
back as local projects and VCS checkouts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .. import _readlimits, fileurls, grammar, interchange, sinks
from .._privacy import PathRedactor, hidden_names, strip_credentials
from ..model import Artifact, Candidate, Meta, Platform, PythonEnv, PythonPackage, Snapshot, Source, Vcs
from ..platforms import major_minor
from .interface import (
    HOST_UNKNOWN,
    PIP_KIND,
    PLATFORM_DETAILS,
    SDIST_ENDINGS,
    Importer,
    ImportOptions,
    LockImportError,
    check_lock_url,
    import_root,
    in_seed_folder,
    is_sdist_name,
    judged_python,
    left_out_names,
    local_url,
    packaging_refusal,
    refuse_another_file,
    sdist_release,
    wheel_file_tags,
)

if TYPE_CHECKING:
    import configparser

_VCS = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVES = (
    ".whl",
    *SDIST_ENDINGS,
)  # a local file pip installs by its path: a wheel, an sdist of any ending it unpacks
# The options pip reads from a requirements file that the lock does not record, and why (each named in a warning).
_WHICH_FILES = (
    "which files pip may take (a wheel or a source archive) is not recorded: a rebuild installs any file the "
    "package's hashes name, so it may install a wheel where pip built from source, or the reverse"
)
_NOT_RECORDED = {
    "--no-binary": _WHICH_FILES,
    "--only-binary": _WHICH_FILES,
    "--prefer-binary": _WHICH_FILES,
    "--config-settings": (
        "the settings pip passes to a build are not recorded: a package a rebuild builds from source is built "
        "without them, so a rebuild may build it differently"
    ),
    "--global-option": (
        "the options pip passes to a setup.py build are not recorded: a package a rebuild builds from source is built "
        "without them, so a rebuild may build it differently"
    ),
    "--pre": "it lets pip choose a pre-release, and each requirement here is pinned",
    "--trusted-host": (
        "a rebuild checks every index's TLS certificate (configure pip with PIP_TRUSTED_HOST where one cannot be)"
    ),
    "--require-hashes": "a rebuild checks every file against the hash the lock records for it",
    "--use-feature": "a rebuild turns on no pip feature from the lock",
    "--no-index": (
        "the lock records the indexes and --find-links locations the file names, where `envsnap pin` and a rebuild look"
    ),
}
_PER_REQUIREMENT = ("--config-settings", "--global-option")  # what pip reads after a requirement, --hash aside
# Options pip reads with a value (optparse's "requires 1 argument"; -c and -r say what their value is themselves).
_TAKES_VALUE = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--trusted-host",
        "--no-binary",
        "--only-binary",
        "--use-feature",
        *_PER_REQUIREMENT,
    }
)

_EXPANDED = (
    "an environment variable pip expands when it reads the file, and envsnap records no variable's value (it may be a "
    "secret)"
)


def _variable_in(value: str) -> str:
    """The first ``${NAME}`` pip would expand in ``value`` where the lock would record it: "" for none, or one only in a
    URL's login or secret query, which the lock never records (``importers.without_credentials``)."""
    if "${" not in value:
        return ""
    # A requirement is one word of the options: ``name @ URL ; marker``.
    found = (grammar.pip_variable(strip_credentials(w) if "://" in w else w) for w in value.split())
    return next((v for v in found if v), "")


@dataclass
class _Line:
    number: int
    text: str


@dataclass
class _State:
    index_url: str = ""
    extra_index_urls: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    markers_seen: bool = False
    markers: list[Marker] = field(default_factory=list)  # every requirement's, for ``judged_python``
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (name, pinned version) whose marker is false here
    find_links: list[str] = field(default_factory=list)  # each location as pip reads it (a folder made absolute)
    folder: Path | None = None  # the requirements file's folder, which a relative --find-links is read from
    options: ImportOptions = field(default_factory=ImportOptions)  # its work trees, found once each
    listed: dict[str, dict[tuple[str, str], list[str]]] = field(default_factory=dict)  # ``_releases_in``
    recorded: set[str] = field(default_factory=set)  # the --find-links folders a package records
    # uv's ``# from URL`` under a requirement (``--emit-index-annotation``): (its line, the URL) by the requirement's
    # first line.
    annotations: dict[int, tuple[int, str]] = field(default_factory=dict)

    def project_root(self) -> str:
        """The git work tree around the working directory, else the lock's folder, else the working directory:
        found once per import (``ImportOptions.work_trees``: each relative ``-e PATH`` of a monorepo's file asked
        git again)."""
        return import_root(os.getcwd(), self.options)


# A line as pip freeze, pip-compile and uv write a requirement, from its first column: ``name==1.0``, ``name @ URL``,
# ``-e PATH``. What tells standard input (``pip freeze | envsnap import -``), which has no name, for requirements.
_REQUIREMENT_LINE = re.compile(
    r"^(?:-e[ \t]+\S|--editable[ =]\S"
    r"|[A-Za-z0-9][A-Za-z0-9._-]*[ \t]*(?:\[[^\]\n]*\])?[ \t]*(?:===?[ \t]*[\w.!+*-]|@[ \t]*\S))",
    re.MULTILINE,
)

# A ``--hash=`` as pip reads one: after a requirement on its line (a name, a path, a URL from the first column), or
# on a continuation line of its own. Not one in prose or a table (a bundle's README names requirements.txt's
# ``name==version --hash=sha256:...`` lines), which read as a requirements file and failed its import.
_HASH_OPTION = re.compile(r"^(?:[ \t]+--hash=|[A-Za-z0-9./~][^\n#`]*?[ \t]--hash=)", re.MULTILINE)


def sniff(name: str, text: str) -> bool:
    if name.endswith((".yml", ".yaml", ".toml", ".json")):  # an environment.yml's pip: section has --hash= too
        return False
    if name.endswith((".txt", ".in")) or name.startswith("requirements"):
        return True
    if "[[packages]]" in text:
        return False
    return _HASH_OPTION.search(text) is not None or (not name and _REQUIREMENT_LINE.search(text) is not None)


def read(text: str, origin: str, options: ImportOptions) -> Snapshot:
    state = _State(folder=Path(origin).absolute().parent if origin and origin != "-" else None, options=options)
    state.annotations = _index_annotations(text)
    packages: dict[str, PythonPackage] = {}
    pending: list[tuple[_Line, list[str]]] = [(line, words) for line, words in _source_trees(text, origin)]
    for line in _logical_lines(text):
        words = _split(line, origin)
        if not words:
            continue
        if words[0].startswith("-") and not words[0].startswith(("--hash", "-e", "--editable")):
            _option(words, line, origin, state)
            continue
        pending.append((line, words))
    for line, words in pending:
        if line.text.startswith("#"):  # a source tree envsnap's export listed as a comment: kept when readable
            try:
                pkg = _requirement(words, line, origin, state)
            except LockImportError as exc:
                state.warnings.append(f"import: a source tree listed as a comment was left out: {exc}")
                continue
        else:
            pkg = _requirement(words, line, origin, state)
        if pkg is None:
            continue
        if pkg.name in packages:
            raise LockImportError(f"{origin}:{line.number}: {pkg.name} is listed twice")
        packages[pkg.name] = pkg
    state.warnings += [_find_links_not_recorded(location) for location in _unrecorded_find_links(state)]
    state.warnings += _unrecorded_indexes(state, packages.values())
    version = ""  # the Python the markers were judged for, where their picks depend on it
    if state.markers_seen:
        env = default_environment()
        host = f"{env['sys_platform']}, {env['platform_machine']}, Python {env['python_version']}"
        if not packages and state.left_out:
            raise LockImportError(
                f"{origin}: every requirement in it is for another host: left out by its marker on this one ({host}): "
                f"{left_out_names(state.left_out, set())}; nothing to import"
            )
        left = f"; left out by their markers: {left_out_names(state.left_out, set(packages))}" if state.left_out else ""
        by_marker = {str(m): m for m in state.markers}
        version = judged_python(
            by_marker,
            env["python_full_version"],
            lambda marker, v: by_marker[marker].evaluate({"python_version": major_minor(v), "python_full_version": v}),
        )
        records = f"; the lock records Python {version}, the version they were judged for" if version else ""
        state.warnings.append(f"import: environment markers were evaluated for this host ({host}){left}{records}")
    meta = Meta(
        generator="envsnap import from requirements.txt",
        origin="requirements",
        unknown=tuple(
            sorted(
                [
                    *HOST_UNKNOWN,
                    "conda",
                    *PLATFORM_DETAILS,
                    *PIP_KIND,
                    "platform.machine",
                    "platform.system",
                    *([] if version else ["python.version"]),
                    # pip freeze without --all leaves out pip, setuptools, wheel: a file naming pip has them all.
                    *interchange.seeds_left_out(packages),
                ]
            )
        ),
        warnings=tuple(_recorded_paths(state.warnings, state)),
    )
    python = PythonEnv(kind="venv", version=version, packages=tuple(sorted(packages.values(), key=lambda p: p.name)))
    return Snapshot(envsnap=meta, platform=Platform(), python=python)


# What ``envsnap export --format requirements`` writes for a source tree pip cannot hash-check.
_SOURCE_TREE_HEADER = "# Not hash-checkable by pip (source trees)"
_SOURCE_TREE_LINE = re.compile(r"^#\s+pip install --no-deps (?P<args>.+)$")


def _source_trees(text: str, origin: str) -> list[tuple[_Line, list[str]]]:
    """The commented ``pip install --no-deps ...`` lines under envsnap's source-tree header, as requirement
    words (``-e PATH``, ``PATH`` or ``NAME @ URL``)."""
    out: list[tuple[_Line, list[str]]] = []
    inside = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith(_SOURCE_TREE_HEADER):
            inside = True
            continue
        m = _SOURCE_TREE_LINE.match(raw) if inside else None
        if m is None:
            inside = inside and raw.startswith("#")
            continue
        try:
            words = shlex.split(m.group("args"), posix=True)
        except ValueError as exc:
            raise LockImportError(f"{origin}:{number}: cannot split the options: {exc}") from None
        if words and words[0] not in ("-e", "--editable") and "@" not in words[0]:
            words = ["--local-directory", *words]
        out.append((_Line(number, raw), words))
    return out


def _logical_lines(text: str) -> list[_Line]:
    """Physical lines joined at trailing backslashes, with comments removed (pip's own rules)."""
    lines: list[_Line] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        raw = re.sub(r"(^|\s+)#.*$", "", raw)  # a comment starts at a '#' at the start or after spaces
        if not buffer:
            start = number
        if raw.endswith("\\"):
            buffer += raw[:-1] + " "
            continue
        buffer += raw
        if buffer.strip():
            lines.append(_Line(start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append(_Line(start, buffer.strip()))
    return lines


def _split(line: _Line, origin: str) -> list[str]:
    """pip's split: the requirement is every token before the first option (quotes in markers stay);
    the options after it are shell words."""
    tokens = line.text.split(" ")
    first_option = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    requirement = " ".join(tokens[:first_option]).strip()
    try:
        options = shlex.split(" ".join(tokens[first_option:]), posix=True)
    except ValueError as exc:
        raise LockImportError(f"{origin}:{line.number}: cannot split the options: {exc}") from None
    return ([requirement] if requirement else []) + options


_SHOWN = 200  # the most of a value from the file an error line shows


def _cut(text: str) -> str:
    """A value from the file (an option, a path, packaging's message quoting one) as an error line shows it: cut
    short, so that a stranger's 100 KB word is not a 100 KB line."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _option(words: list[str], line: _Line, origin: str, state: _State) -> None:
    option, _, value = words[0].partition("=")
    if not value and len(words) > 1:
        value = words[1]
    if not value and option in _TAKES_VALUE:
        # Read as no index (alone in the file: "no packages in it"; else a warning naming an empty URL).
        raise LockImportError(
            f"{origin}:{line.number}: {option} without a value (pip: the option requires an argument)"
        )
    if option in ("-i", "--index-url", "--extra-index-url") and (grammar.has_control(value) or grammar.has_bidi(value)):
        # No index URL holds one (the lock's URLs may not): said on its line, not as a field of the lock the file
        # has no name for (``envsnap.warnings[1]``, a package's ``artifact.index``), nor kept in a warning to reorder
        # what a reader of the lock sees. The URL is not shown: it may hold a token.
        raise LockImportError(
            f"{origin}:{line.number}: {option}: the URL holds a control or bidirectional formatting character, which "
            "no index URL does"
        )
    variable = _variable_in(value) if option in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links") else ""
    if variable and option in ("-i", "--index-url"):
        raise LockImportError(
            f"{origin}:{line.number}: {option} holds {variable}, {_EXPANDED}: without the index every package is on, "
            "the lock would name another (write the URL out)"
        )
    if variable:  # not read (its value may be a secret) nor recorded as written (a folder named ``${PIP_TOKEN}``)
        state.warnings.append(f"import: line {line.number}: {option} is not recorded: it holds {variable}, {_EXPANDED}")
    elif option in ("-i", "--index-url"):
        state.index_url = value.rstrip("/")
    elif option == "--extra-index-url":
        state.extra_index_urls.append(value.rstrip("/"))
    elif option in ("-r", "--requirement"):
        raise LockImportError(f"{origin}:{line.number}: {option} includes another file; import a single flattened file")
    elif option in ("-c", "--constraint"):
        # A constraints file adds no package; it only bounds the versions of those asked for, and each one here is
        # pinned: the pins stand, and the file is not read (a path from an imported file is read as ``-r``'s is:
        # never). Named by its line, not its path, which may be a private folder's or a URL's with a token.
        if not value:
            raise LockImportError(f"{origin}:{line.number}: {option} without a file")
        state.warnings.append(
            f"import: line {line.number}: {option} (a constraints file) is not read: it adds no package, and the "
            "lock records the pins this file lists"
        )
    elif option in ("-f", "--find-links"):
        state.find_links.append(_find_links_location(value, state.folder))
    elif option in _NOT_RECORDED:
        state.warnings.append(f"import: line {line.number}: {option} is not recorded: {_NOT_RECORDED[option]}")
    else:
        raise LockImportError(f"{origin}:{line.number}: unsupported option {_cut(option)}")


def option_apart(words: list[str]) -> list[str]:
    """``words`` with an editable option's value apart from it, as pip's option parser reads the attached forms:
    ``--editable=./proj`` and ``-e./proj`` are ``--editable ./proj`` and ``-e ./proj`` (they were read as a path
    named ``--editable=./proj``: "no such folder")."""
    first = words[0]
    if first.startswith("--editable="):
        return ["--editable", first.partition("=")[2], *words[1:]]
    if first.startswith("-e") and not first.startswith("--") and len(first) > 2:
        return ["-e", first[2:], *words[1:]]
    return words


def _without_build_options(words: list[str], line: _Line, state: _State) -> list[str]:
    """``words`` without the build options pip reads after a requirement (``--config-settings KEY=VALUE``, with its
    value apart or after ``=``), each named in a warning as on a line of its own."""
    kept: list[str] = []
    skip = False
    for i, word in enumerate(words):
        option = word.partition("=")[0]
        if skip:
            skip = False
        elif i and option in _PER_REQUIREMENT:
            state.warnings.append(f"import: line {line.number}: {option} is not recorded: {_NOT_RECORDED[option]}")
            skip = "=" not in word
        else:
            kept.append(word)
    return kept


def _requirement(words: list[str], line: _Line, origin: str, state: _State) -> PythonPackage | None:
    where = f"{origin}:{line.number}"
    variable = next((v for v in map(_variable_in, words) if v), "")
    if variable:
        raise LockImportError(
            f"{where}: the requirement holds {variable}, {_EXPANDED}: the lock cannot say where it comes from"
        )
    words = _without_build_options(words, line, state)
    hashes = [w.split("=", 1)[1] if "=" in w else "" for w in words if w.startswith("--hash")]
    words = [w for w in words if not w.startswith("--hash")]
    if not words:
        raise LockImportError(f"{where}: --hash without a requirement (a line continued without '\\'?)")
    words = option_apart(words)
    if words[0] in ("-e", "--editable"):
        return _editable(words[1:], where, state)
    local = len(words) == 1 and (words[0] in (".", "..") or words[0].startswith(("./", "../", "/")))
    if len(words) == 1 and not local and _looks_like_path(words[0]):
        # pip reads a word with a '/' as a path when it names a folder (uv pip compile writes a project's path
        # dependency as libs/labutils) or an archive; no requirement has one but in a URL.
        local = os.path.isdir(words[0]) or words[0].endswith(_ARCHIVES)
        if not local:
            raise LockImportError(
                f"{where}: {_cut(words[0])}: no such folder in the working directory (pip reads a requirement's path "
                "from there): import from the folder you install from"
            )
    if local and not words[0].endswith(_ARCHIVES):
        # A project's folder by its path, as pip reads one: uv pip compile writes ./libs/labutils.
        words = ["--local-directory", *words]
    if words[0] == "--local-directory":  # a non-editable source tree (envsnap's export lists one as a comment)
        return _editable(words[1:], where, state, editable=False)
    if local:
        return _local_archive(words[0], hashes, where, state)
    if len(words) == 1 and _URL_ALONE.match(words[0]) and urlsplit(words[0]).path.endswith(_ARCHIVES):
        # An archive's URL alone, as pip takes it (``https://host/x-1.0-py3-none-any.whl``, ``file:///w/x.tar.gz``):
        # its name is its file name's, as for a path.
        return _url_archive(words[0], hashes, where, state)
    spec = " ".join(words)
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        spaced = _url_with_spaces(spec)
        if spaced is not None:
            raise LockImportError(
                f"{where}: {_cut(spec.split('@', 1)[0].strip())}: its URL holds a space, which ends a URL for pip (pip "
                "freeze writes a local path so, and pip cannot install the line either): write the space as %20, "
                f"{grammar.shown(spaced, _SHOWN)}"
            ) from None
        # packaging adds the line and a caret below the message: the error stays one line.
        raise LockImportError(f"{where}: not a requirement: {str(exc).splitlines()[0]}") from None
    if req.marker is not None:
        state.markers_seen = True
        try:
            holds = req.marker.evaluate()
        except (UndefinedComparison, UndefinedEnvironmentName, KeyError) as exc:
            # packaging looks a lock file's variable (``extras``, ``dependency_groups``) up without a check of its
            # own: a KeyError, which was a traceback.
            reason = (
                f"{grammar.shown(str(exc.args[0]) if exc.args else '')} is not a requirement's marker variable"
                if isinstance(exc, KeyError)
                else str(exc).splitlines()[0]
                if str(exc)
                else "it names no answer"
            )
            raise LockImportError(f"{where}: cannot evaluate {grammar.shown(str(req.marker))}: {reason}") from None
        state.markers.append(req.marker)  # one that cannot be evaluated is refused, or left out with its line
        if not holds:
            exact = [spec.version for spec in req.specifier if spec.operator == "=="]
            state.left_out.append((canonicalize_name(req.name), exact[0] if len(exact) == 1 else ""))
            return None
    name = canonicalize_name(req.name)
    metadata_name = req.name if req.name != name else ""
    if req.url:
        pkg = _direct(name, metadata_name, _project_url(req.url, state), hashes, where)
        if pkg.source.kind == "directory" and not pkg.version:  # pip-compile's ``mylib @ file:///.../libs/mylib``
            folder = Path(fileurls.file_url_path(req.url.partition("#")[0])) / pkg.source.subdirectory
            pkg = dataclasses.replace(pkg, version=_project_metadata(folder, state.warnings)[1])
        elif pkg.source.kind == "vcs" and not pkg.version:  # ``uv export``'s ``dep @ git+file:///...@COMMIT``
            pkg = dataclasses.replace(pkg, version=commit_version(pkg, state.warnings))
        return pkg
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if len(pins) != 1 or len(req.specifier) != 1:
        raise LockImportError(f"{where}: {_cut(f'{req.name}{req.specifier}')} is not an exact pin (name==version)")
    version = pins[0].version
    sha256 = _sha256s(name, version, hashes, where, state)
    annotated_index = _annotated_index(line.number, state)
    # A package without a hash records no file, so no index: the one its annotation names is recorded nowhere.
    index, found = _folder_holding(name, version, sha256, state)
    if not sha256:
        # ``uv export`` writes a wheel of a --find-links folder by its name alone: the folder's file of this release.
        index, sha256, found = _folder_release(name, version, state)
        if sha256:
            state.warnings.append(
                f"import: {name}: no hash in the file; recorded by the sha256 of the {name} {version} "
                f"file{'s' if len(sha256) > 1 else ''} in its --find-links folder {index}, where pip finds it beside "
                "the index (by its name alone, pin looked it up on the configured indexes, where anyone may publish it)"
            )
        else:
            state.warnings.append(f"import: {name}: no sha256 hash; run `envsnap pin` to record its file")
    index = index or annotated_index
    # A package without a hash records no file, so no place: a --find-links location is not recorded by it.
    indexes = [index] if index else _indexes_for(version, state, records=bool(sha256))
    if not index:
        annotated = state.annotations.get(line.number)
        if annotated is not None:
            state.warnings.append(
                f"import: line {annotated[0]}: the annotation # from {grammar.shown(annotated[1])} names no index of "
                f"the file (--index-url, --extra-index-url): {name} is recorded on {', '.join(indexes)}"
            )
    if len(sha256) > 1 or len(indexes) > 1:
        # One per file of the release and index it may be on: pin looks on each, and the hashes pick the file.
        candidates = tuple(Candidate(sha256=h, index=i) for h in sha256 for i in indexes)
        return PythonPackage(name=name, version=version, metadata_name=metadata_name, candidates=candidates)
    # A file found in a --find-links folder by its hash is recorded by its name there, as a pylock import of the
    # same resolution records it; one the index names by hash alone has no name here.
    artifact = Artifact(filename=found, url="", sha256=sha256[0], index=indexes[0]) if sha256 else None
    tags = wheel_file_tags(found, name, version)  # a wheel's name gives its tags, as a pylock import reads them
    return PythonPackage(name=name, version=version, metadata_name=metadata_name, artifact=artifact, wheel_tags=tags)


# The algorithms pip accepts in ``--hash`` and their hex lengths. A lock records a file by its sha256: a sha384 or
# sha512 value is recorded as the sha256 of the file here that has it (``_proven_sha256s``), or refused.
_HASH_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def _sha256s(name: str, version: str, hashes: list[str], where: str, state: _State) -> list[str]:
    """The requirement's sha256 values, each checked (a hash is a file to trust), in the file's order; a sha384 or
    sha512 value as the sha256 of the file in a local ``--find-links`` folder it names (read now). A hash pip does
    not accept is ``LockImportError``; so is a sha384/sha512 no file here proves when no other hash is left (dropped,
    it let pin take any file of the release). Beside another hash, such a value is left out with a warning."""
    sha256: list[str] = []
    other: list[tuple[str, str]] = []
    for algo, value in _checked_hashes(name, hashes, where):
        if algo == "sha256":
            sha256.append(value)
        else:
            other.append((algo, value))
    if other:
        proven = _proven_sha256s(name, version, other, state)
        unproven = [f"{algo}:{value[:16]}..." for algo, value in other if (algo, value) not in proven]
        if unproven and (sha256 or proven):
            # The lock still pins the files of the other hashes: it allows fewer files than pip would, never more.
            for hashed in unproven:
                state.warnings.append(
                    f"import: {name}: --hash={hashed} left out: a lock records a file by its sha256, and no "
                    f"--find-links folder here holds the {name} {version} file with that "
                    f"{hashed.partition(':')[0]}; the lock allows only the files of its other hashes"
                )
        elif unproven:
            raise LockImportError(
                f"{where}: {name}: --hash={unproven[0]}: a lock records a file by its sha256, and no --find-links "
                f"folder here holds the {name} {version} file with that {unproven[0].partition(':')[0]} to read its "
                "sha256 from (write sha256 hashes: pip-compile --generate-hashes, uv pip compile --generate-hashes, "
                "or `pip hash FILE`; or name a folder holding the file with --find-links)"
            )
        sha256 += proven.values()
    return list(dict.fromkeys(sha256))


def _checked_hashes(name: str, hashes: list[str], where: str) -> list[tuple[str, str]]:
    """Each ``--hash`` as (algorithm, hex value), checked: an algorithm pip accepts, a digest of its length."""
    checked = []
    for given in hashes:
        algo, _, value = given.partition(":")
        if algo not in _HASH_HEX:
            raise LockImportError(
                f"{where}: {name}: --hash={grammar.shown(algo)}: not an algorithm pip accepts (sha256, sha384, sha512)"
            )
        if len(value) != _HASH_HEX[algo] or not re.fullmatch(r"[0-9a-f]+", value):
            raise LockImportError(f"{where}: {name}: not a {algo} hash: {grammar.shown(value)}")
        checked.append((algo, value))
    return checked


def _proven_sha256s(
    name: str, version: str, wanted: list[tuple[str, str]], state: _State
) -> dict[tuple[str, str], str]:
    """For each (algorithm, value) of ``wanted``, the sha256 of the file of this release in a local ``--find-links``
    folder whose digest by that algorithm is the value (each file read once, all its digests at once)."""
    from .._prehash import file_digests

    found: dict[tuple[str, str], str] = {}
    for location in state.find_links:
        for filename in _releases_in(location, state).get((name, version), []):
            try:
                digests = file_digests(os.path.join(location, filename), _HASH_HEX)
            except OSError:
                continue
            for algo, value in wanted:
                if digests[algo] == value:
                    found.setdefault((algo, value), digests["sha256"])
    return found


def _folder_holding(name: str, version: str, sha256: list[str], state: _State) -> tuple[str, str]:
    """The first local ``--find-links`` folder holding a file of this release with one of its hashes, as the lock
    records it, and that file's name; ("", "") when none does: pip looks for the file in every such folder beside
    the index, so that folder is where this package's file is (a lab's wheel beside PyPI's packages), not the
    index, which may not have it. The name is the one file of a single hash (several hashes are candidates)."""
    if not sha256:
        return "", ""
    from .._prehash import sha256_file

    for location in state.find_links:
        for filename in _releases_in(location, state).get((name, version), []):
            try:
                found = sha256_file(os.path.join(location, filename))
            except OSError:
                continue
            if found in sha256:
                state.recorded.add(location)
                recorded = _recorded_location(location, state)
                return recorded, filename if len(sha256) == 1 and _names_a_folder(recorded, state) else ""
    return "", ""


def _folder_release(name: str, version: str, state: _State) -> tuple[str, list[str], str]:
    """For a requirement the file gives no hash for: the first local ``--find-links`` folder holding files of this
    release, as the lock records it, their sha256s (read now), and the file's name where there is one (as
    ``_folder_holding`` names it); ("", [], "") when none does. That folder is where pip finds the lab's wheel beside
    the index; recorded there by its hash, ``pin`` does not look the name up on the index, where anyone may publish
    it (docs/security.md)."""
    from .._prehash import sha256_file

    for location in state.find_links:
        files: list[tuple[str, str]] = []
        for filename in _releases_in(location, state).get((name, version), []):
            try:
                files.append((filename, sha256_file(os.path.join(location, filename))))
            except OSError:
                continue
        if files:
            state.recorded.add(location)
            recorded = _recorded_location(location, state)
            named = len(files) == 1 and _names_a_folder(recorded, state)
            return recorded, list(dict.fromkeys(sha for _f, sha in files)), files[0][0] if named else ""
    return "", [], ""


def _names_a_folder(recorded: str, state: _State) -> bool:
    """Whether a recorded ``--find-links`` folder still names a folder once the import hides the login and host names
    in it (``importers.without_credentials``, after parsing): ``/scratch/alice/wheels`` is recorded as
    ``/scratch/<user>/wheels``, which names nothing here, so a file found there is recorded by its hash alone, and
    ``pin`` finds it again where it is configured (``PIP_FIND_LINKS``), as before the name was recorded."""
    return not hidden_names(PathRedactor(project=state.project_root()).url(recorded))


def _releases_in(location: str, state: _State) -> dict[tuple[str, str], list[str]]:
    """A local ``--find-links`` folder's wheels and source archives by (normalised name, version), listed once;
    {} for a URL or a folder that cannot be listed."""
    if location not in state.listed:
        releases: dict[tuple[str, str], list[str]] = {}
        names: list[str] = []
        if "://" not in location:
            try:
                names = sorted(os.listdir(location))
            except OSError:
                names = []
        for filename in names:
            try:
                if filename.endswith(".whl"):
                    parsed, version = parse_wheel_filename(filename)[:2]
                elif filename.endswith((".tar.gz", ".zip")):
                    parsed, version = parse_sdist_filename(filename)
                else:
                    continue
            except ValueError:  # packaging's InvalidWheelFilename and InvalidSdistFilename are ValueErrors
                continue
            releases.setdefault((parsed, str(version)), []).append(filename)
        state.listed[location] = releases
    return state.listed[location]


# uv's index annotation (``uv pip compile --emit-index-annotation``), on a line of its own under the requirement.
_FROM_ANNOTATION = re.compile(r"^\s*#\s*from\s+(\S+)\s*$")


def _index_annotations(text: str) -> dict[int, tuple[int, str]]:
    """The ``# from URL`` comment under each requirement (uv writes the index each package came from so), by the
    first line of the requirement it follows, with its own line: a requirement is a line that is no comment and does
    not continue the one before (``\\``), and its comments follow it, as ``# via`` does."""
    found: dict[int, tuple[int, str]] = {}
    owner = 0
    continued = False
    for number, raw in enumerate(text.splitlines(), start=1):
        m = _FROM_ANNOTATION.match(raw)
        if m is not None:
            if owner:
                found.setdefault(owner, (number, m.group(1)))
            continue
        code = re.sub(r"(^|\s+)#.*$", "", raw)  # as _logical_lines reads a line: a comment ends a continuation
        if code.strip() and not continued:
            owner = number
        continued = code.endswith("\\")
    return found


def _annotated_index(number: int, state: _State) -> str:
    """The index the file's annotation names for the requirement on line ``number`` (uv's ``# from URL``), where it
    is one the file names (``--index-url``, ``--extra-index-url``; pip's default index where it names no
    ``--index-url``): "" where there is none, or it names another (a comment left by an edit, a ``--find-links``
    folder's ``file:`` URL, which is no index)."""
    annotated = state.annotations.get(number)
    url = strip_credentials(annotated[1].rstrip("/")) if annotated is not None else ""
    for index in (state.index_url or interchange.PYPI_SIMPLE, *state.extra_index_urls):
        if url and strip_credentials(index) == url:  # uv names an index without its user and password
            return index
    return ""


def _indexes_for(version: str, state: _State, *, records: bool = True) -> list[str]:
    """The indexes a package's file may be on where the file says nothing of it (no annotation): every index it
    names (``--index-url``, or pip's default index, and each ``--extra-index-url``), as pip looks on all of them; a
    ``+local`` version, which PyPI refuses, on the one extra index; else the one place ``_index_for`` says."""
    try:
        local = Version(version).local is not None
    except ValueError:  # InvalidVersion, or a number past int()'s 4,300 digits (the lock's check names it)
        local = False
    if state.extra_index_urls and not (local and len(state.extra_index_urls) == 1):
        return list(dict.fromkeys((state.index_url or interchange.PYPI_SIMPLE, *state.extra_index_urls)))
    return [_index_for(local, state, records=records)]


def _index_for(local: bool, state: _State, *, records: bool = True) -> str:
    if local and len(state.extra_index_urls) == 1:
        return state.extra_index_urls[0]
    if state.index_url:
        return state.index_url
    if state.find_links and not state.extra_index_urls and not _listed(state.find_links[0]):
        # No index named, and a --find-links page or a folder not on this machine, whose files cannot be told
        # from the default index's: the location is recorded (what envsnap's export writes for a wheel pinned
        # from there); ``pin`` reads both. A file in a folder on this machine was found by _folder_holding.
        if records:  # a package with no hash records no file, so no location: the location is said unrecorded
            state.recorded.add(state.find_links[0])
        return _recorded_location(state.find_links[0], state)
    # No --index-url: pip's default index, which envsnap's export (like pip-compile and uv) does not name.
    return interchange.PYPI_SIMPLE


def _recorded_location(location: str, state: _State) -> str:
    """A ``--find-links`` location as the lock records it: a folder inside the project or elsewhere in the home under
    its label (``file://{project}/wheels``, ``file://~/wheels`` beside the project: as ``envsnap pin`` records a
    folder it found a wheel in), so the lock names neither the user's home nor where the project was; a URL, and a
    folder outside both (``/opt/wheels``), as they are."""
    if "://" in location:
        return location
    url = local_url(location, os.getcwd(), state.project_root())[1]
    return url if fileurls.is_labelled(url) else location


def _recorded_paths(warnings: list[str], state: _State) -> list[str]:
    """The warnings with the local paths they name as the lock records paths: the project ``{project}/...``, the
    home ``~/...`` (a --find-links folder, a source tree that could not be read), so a published lock names neither
    the user's home nor where the project was. Login and host names go after, with those of the lock's URLs and
    every import's warnings (``importers.without_credentials``)."""
    if not warnings:
        return warnings
    redactor = PathRedactor(project=state.project_root(), users=(), hosts=())
    return [redactor.text(w) for w in warnings]


def _listed(location: str) -> bool:
    """Whether a ``--find-links`` location is a folder on this machine, whose files ``_releases_in`` lists."""
    return "://" not in location and os.path.isdir(location)


def _find_links_location(value: str, folder: Path | None) -> str:
    """A ``--find-links`` value as pip reads it from a requirements file: a URL as it is; a path relative to
    the file's folder where that exists (pip's rule), else to the working directory, made absolute."""
    local = fileurls.local_path(value) if value.startswith("file:") else None
    if local is not None:
        return os.path.normpath(local)  # a folder by its path: a file: URL of a folder reads as an index URL
    if "://" in value or not value:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute() and folder is not None and (folder / path).exists():
        path = folder / path
    return os.path.normpath(path.absolute())


def _unrecorded_indexes(state: _State, packages: Iterable[PythonPackage]) -> list[str]:
    """A warning naming the packages from an index that have no hash, where the file names an index pip would not
    look on by default: the lock records an index with a file (a hashed package records every index the file names,
    the hash deciding), so none is recorded for them, and ``pin`` looks for them on the configured indexes alone,
    where a package of the same name may be another project. The default index, which ``pin`` reads unconfigured, is
    left unnamed."""
    named = [f"--index-url {state.index_url}"] if state.index_url and state.index_url != interchange.PYPI_SIMPLE else []
    named += [f"--extra-index-url {url}" for url in dict.fromkeys(state.extra_index_urls)]
    unhashed = sorted(
        p.name for p in packages if p.source.kind == "index" and p.artifact is None and not p.candidates and p.version
    )
    if not named or not unhashed:
        return []
    them = "it" if len(unhashed) == 1 else "them"
    return [
        f"import: {', '.join(named)} {'is' if len(named) == 1 else 'are'} not recorded for {', '.join(unhashed)} "
        f"(no hash, so no file and no index): `envsnap pin` looks for {them} only on the indexes pip is configured "
        "with (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL), which may hold another project of that name; a file with hashes "
        "(pip-compile --generate-hashes) records each package on every index it names"
    ]


def _unrecorded_find_links(state: _State) -> list[str]:
    """The --find-links locations the lock does not record: a package records every index the file names, and a
    --find-links location only where its file was found (or, where the file names no index, the first location the
    import cannot look in)."""
    return [location for location in state.find_links if location not in state.recorded]


def _find_links_not_recorded(location: str) -> str:
    """The warning naming a --find-links location the lock does not record, and why: a folder on this machine held
    no package's file (the first folder holding one is recorded), any other location could not be looked in."""
    why = (
        "no package's file was taken from it"
        if _listed(location)
        else "it is a page or a folder not on this machine, which the import cannot look in"
    )
    return (
        f"import: --find-links {location} is not recorded: {why} (a package records every index the file names, "
        "and the --find-links folder its file is in); `envsnap pin` looks there when pip is configured with it"
    )


def _spaced_editable(path: str, where: str) -> str:
    """The line for ``-e PATH`` whose path holds a space (``pip freeze`` writes ``-e /tmp/rés earch/proj`` as it is):
    pip splits an option's value as a shell does, so the path ended at the space (the import said it could not tell
    the name of ``/tmp/rés``). It gives the path quoted and as its ``file:`` URL, percent-encoded, as the error for
    a direct reference with a space gives it with %20."""
    from urllib.parse import quote

    url = fileurls.path_url(path) if os.path.isabs(path) else "file:" + quote(path)
    return (
        f"{where}: -e {_cut(path)}: the path holds a space, which ends it for pip (it splits an option's value as a "
        f"shell does; pip freeze writes the path so): write it quoted, -e {_cut(sinks.shell_word(path))}, or as its "
        f"file: URL, -e {_cut(url)}"
    )


def _spaced_vcs_editable(url: str, where: str) -> str:
    """The line for ``-e VCS+URL`` whose URL holds a space (``pip freeze`` writes ``-e git+file:///lab/rés
    earch/repo@C#egg=NAME`` as it is): pip splits an option's value as a shell does, so the URL ended at the space
    (the import said the reference had no ``#egg=NAME``, which was in the next word). It gives the URL with %20, as
    the error for a direct reference with a space does: quoted, the URL would still hold a space, which no URL may."""
    return (
        f"{where}: -e {_cut(url)}: its URL holds a space, which ends it for pip (it splits an option's value as a "
        f"shell does; pip freeze writes a local path so): write the space as %20, -e {_cut(url.replace(' ', '%20'))}"
    )


def _url_with_spaces(spec: str) -> str | None:
    """``spec``, a ``NAME @ URL`` line that does not parse, with the spaces inside its URL written as ``%20``, where
    that parses: ``pip freeze`` writes a local path with a space as it is (``labgit @ git+file:///lab/rés
    earch/labgit@C``), which pip reads as the URL's end. None for any other line."""
    name, at, rest = spec.partition("@")
    url, semicolon, marker = rest.strip().partition(" ;")
    if not at or " " not in url.strip():
        return None
    fixed = f"{name.strip()} @ {url.strip().replace(' ', '%20')}" + (f" ;{marker}" if semicolon else "")
    try:
        Requirement(fixed)
    except InvalidRequirement:
        return None
    return fixed


def _fragment(fragment: str) -> dict[str, str]:
    """A pip URL's fragment as its ``key=value`` parts (``egg=NAME&subdirectory=DIR``, ``sha256=HEX``)."""
    return dict(part.split("=", 1) for part in fragment.split("&") if "=" in part)


def _with_fragment_hash(name: str, fragment: str, given: tuple[str, str], where: str) -> tuple[str, str]:
    """The (algorithm, value) of an archive's hash: its first ``--hash`` ``given``, else the sha256 its URL's fragment
    names (``...whl#sha256=HEX``, which pip checks the download against too), checked as a ``--hash`` is; a fragment
    naming another file than the ``--hash`` is refused."""
    named = _fragment(fragment).get("sha256", "")
    if named and not re.fullmatch(r"[0-9a-f]{64}", named):
        raise LockImportError(
            f"{where}: {name}: the URL's #sha256= is not a sha256 hash (64 lower-case hex digits): "
            f"{grammar.shown(named, _SHOWN)}"
        )
    if named and given[1] and given != ("sha256", named):
        raise LockImportError(f"{where}: {name}: the URL's #sha256= and its --hash name different files")
    return given if given[1] else ("sha256", named)


def _direct(name: str, metadata_name: str, url: str, hashes: list[str], where: str) -> PythonPackage:
    _checked_hashes(name, hashes, where)
    # Refused on its line with the rule it breaks (``pkg @ file://https://host/x.whl``): the lock's check of the
    # source it became named only ``python.packages[1].source.url``, no line of the file.
    check_lock_url(url, f"{where}: {name}")
    version = ""
    if url.startswith(_VCS):
        vcs, _, rest = url.partition("+")
        rest, _, fragment = rest.partition("#")
        subdirectory = _fragment(fragment).get("subdirectory", "")
        base, at, commit = rest.rpartition("@")
        # A git reference that is no commit id (``@main``, ``@v1.0``) moves as a branch does, and a bundle refuses it.
        if not at or "/" in commit or (vcs == "git" and not grammar.is_git_commit(commit)):
            raise LockImportError(
                f"{where}: {name}: VCS reference without a commit (url@commit): a branch moves, so the lock would not "
                f"say what was installed; pin it to a commit, '{name} @ {vcs}+URL@COMMIT' (in requirements.in for "
                "pip-compile, which writes the reference as given; `git rev-parse HEAD` in the repository prints it)"
            )
        if base.startswith("file://localhost/"):  # the repository pip records (and the export writes so)
            base = "file://" + base[len("file://localhost") :]
        elif base.startswith("file:/") and not base.startswith("file://"):
            # pip-compile writes ``git+file:/srv/repo``: the same repository as uv's and pip's ``file:///srv/repo``
            base = "file://" + base[len("file:") :]
        # ``@REV`` is also the revision the line asks for, which pip's direct_url.json records as
        # ``requested_revision`` when it installs the line, and a pylock's ``requested-revision`` names.
        source = Source(
            kind="vcs",
            url=base,
            vcs=cast(Vcs, vcs),
            commit_id=commit,
            requested_revision=commit if grammar.is_git_ref(commit) else "",
            subdirectory=subdirectory,
        )
        return PythonPackage(name=name, version=version, metadata_name=metadata_name, source=source)
    path = urlsplit(url).path
    algo, _, value = (hashes[0] if hashes else "").partition(":")
    if path.endswith(".whl"):
        # A hash in the URL's fragment (``...whl#sha256=HEX``, as pip reads it) is the file's too: not its name.
        url, _, fragment = url.partition("#")
        algo, value = _with_fragment_hash(name, fragment, (algo, value), where)
        # The file's name is the path's last part: a query (a presigned URL's signature) is the URL's, not its name.
        filename = path.rsplit("/", 1)[-1].replace("%2B", "+")
        try:
            parse_wheel_filename(filename)
        except ValueError:  # InvalidWheelFilename, or a version number past int()'s 4,300 digits
            raise LockImportError(
                f"{where}: {name}: {grammar.shown(filename, _SHOWN)} is not a wheel file name (name-version-tags.whl), "
                "which a wheel URL's last part must be"
            ) from None
        refuse_another_file(name, "", filename, where)
        version = filename.split("-")[1]
        if algo == "sha256" and value and parse_wheel_filename(filename)[0] == name and in_seed_folder(url):
            # envsnap's export names a seed wheel of a Debian venv (its pip, setuptools: installed by ensurepip, no
            # direct_url.json) by this machine's file, the only one that installs it; the lock records such a wheel
            # as a capture and pin do, by file name and sha256 (``named_only``), an index install, not an archive
            # whose source verify of the very venv called "file:///usr/share/... -> index".
            artifact = Artifact(filename=unquote(filename), url="", sha256=value)
            tags = wheel_file_tags(unquote(filename), name, version)
            return PythonPackage(
                name=name, version=version, metadata_name=metadata_name, artifact=artifact, wheel_tags=tags
            )
        # pip freeze writes a wheel installed by its path or URL (``pip install ./x.whl``) so: pip recorded it as that
        # archive (``direct_url.json``), not as an index install, and the lock records it as a capture does, with the
        # tags its name gives (its WHEEL's); an index artifact of that URL read as "source index -> file:///x.whl"
        # in verify of the very environment.
        return PythonPackage(
            name=name,
            version=version,
            metadata_name=metadata_name,
            source=Source(kind="archive", url=url, archive_hash=f"{algo}={value}" if value else ""),
            wheel_tags=wheel_file_tags(filename, name, version),
        )
    url, _, fragment = url.partition("#")
    # The project's folder inside the repository, archive or local folder (pip's ``#subdirectory=``; checked with
    # the rest of the lock as its ``subdirectory``: a relative folder, no ``..``).
    subdirectory = _fragment(fragment).get("subdirectory", "")
    if url.startswith("file:") and not is_sdist_name(path.rsplit("/", 1)[-1]):
        local = fileurls.path_url(fileurls.file_url_path(url))
        directory = Source(kind="directory", url=local, subdirectory=subdirectory)
        return PythonPackage(name=name, version="", metadata_name=metadata_name, source=directory)
    filename = unquote(path.rsplit("/", 1)[-1])
    refuse_another_file(name, "", url, where)
    # The version is the file name's, read as the project's: ``foo-1.0-1.tar.gz`` is foo 1.0-1 (it was read as 1).
    release = sdist_release(filename, name)
    stem = next((filename[: -len(e)] for e in SDIST_ENDINGS if filename.lower().endswith(e)), filename)
    version = release[1] if release else stem.rsplit("-", 1)[-1] if "-" in stem else ""
    algo, value = _with_fragment_hash(name, fragment, (algo, value), where)  # an sdist's as a wheel's
    source = Source(kind="archive", url=url, archive_hash=f"{algo}={value}" if value else "", subdirectory=subdirectory)
    return PythonPackage(name=name, version=version, metadata_name=metadata_name, source=source)


# The largest build file read from a commit: more than any project's pyproject.toml or setup.cfg.
_MAX_COMMIT_FILE = 1 << 20


def commit_version(pkg: PythonPackage, warnings: list[str], *, file: str = "the requirements file") -> str:
    """The version a git repository on this machine (``git+file:///...@COMMIT``) names for ``pkg`` at its commit: the
    static ``[project]`` version of the pyproject.toml there (in its ``subdirectory``), else setup.cfg's
    ``[metadata]`` one, when it names ``pkg``'s project. Each file is read with ``git cat-file blob`` (no filter, hook
    or code of the repository runs; its fsmonitor off, as every git envsnap runs); nothing is built. "" where that
    names none (setuptools-scm computes it at build), the repository is not here or git cannot read it, and
    ``warnings`` says the version is unknown and how a capture records it."""
    source = pkg.source
    commit = source.commit_id
    name, version = "", ""
    if source.vcs == "git" and source.url.startswith("file:") and grammar.is_git_commit(commit):
        folder = fileurls.file_url_path(source.url)
        if os.path.isabs(folder) and os.path.isdir(folder):
            prefix = f"{source.subdirectory.strip('/')}/" if source.subdirectory else ""
            with contextlib.suppress(LockImportError):
                text = _commit_file(folder, f"{commit}:{prefix}pyproject.toml")
                name, version = _pyproject_metadata(
                    _readlimits.load_toml(text, origin="pyproject.toml", error=LockImportError)
                )
            if not version and (not name or canonicalize_name(name) == pkg.name):
                import configparser

                parser = configparser.RawConfigParser()
                with contextlib.suppress(configparser.Error):
                    parser.read_string(_commit_file(folder, f"{commit}:{prefix}setup.cfg"))
                    cfg_name, version = _setup_cfg_metadata(parser)
                    name = name or cfg_name
    if version and name and canonicalize_name(name) == pkg.name:
        return version
    warnings.append(
        f"import: the version of {pkg.name} is unknown: {file} names its commit "
        f"({grammar.shown(commit, _SHOWN)}), not its version, and no static version of it (pyproject.toml [project], "
        "setup.cfg [metadata]) was read at that commit in a git repository on this machine (envsnap builds nothing to "
        'compute one); the lock records it as "": `envsnap capture` of an environment it is installed in records it'
    )
    return ""


def _commit_file(folder: str, spec: str) -> str:
    """The text of ``spec`` (``COMMIT:PATH``) in the git repository at ``folder``; "" where git gives none."""
    from ..probes import gitstate

    res = gitstate.git(folder, "cat-file", "blob", spec)
    if not res.ok or len(res.stdout) > _MAX_COMMIT_FILE:
        return ""
    return res.stdout


def _project_url(url: str, state: _State) -> str:
    """A direct reference's URL; a ``file:`` URL of a path in the project or the home as that path is recorded
    (``-e PATH``, ``file://{project}/...``, ``file://~/...``), its fragment kept: pip-compile writes ``./libs/labtool``
    as ``labtool @ file:///home/me/proj/libs/labtool``, which would carry the user's home into the lock."""
    if not fileurls.is_file_url(url):
        return url
    base, mark, fragment = url.partition("#")
    recorded = _local_project(fileurls.file_url_path(base), state)[1]
    return recorded + mark + fragment if fileurls.is_labelled(recorded) else url


def _local_archive(path: str, hashes: list[str], where: str, state: _State) -> PythonPackage:
    """A wheel or sdist by its path (``./wheels/x-1.0-py3-none-any.whl``: pip's form, and envsnap's export of a file
    in the project), read from the working directory and recorded as ``-e PATH`` is (``file://{project}/...``)."""
    base = path.rsplit("/", 1)[-1]
    try:
        name = _archive_project(base)
    except ValueError as exc:
        raise LockImportError(f"{where}: {_cut(packaging_refusal(exc))}") from None
    return _direct(name, "", _local_project(path, state)[1], hashes, where)


def _archive_project(base: str) -> str:
    """The project a wheel's or an sdist's file name names, as packaging reads it: an sdist of any ending pip unpacks
    (``x-1.0.tar.xz`` as ``x-1.0.tar.gz``; packaging reads those two endings alone). ``ValueError``: packaging's
    refusal, naming the file as written."""
    if base.endswith(".whl"):
        return str(parse_wheel_filename(base)[0])
    stem = next((base[: -len(e)] for e in SDIST_ENDINGS if base.lower().endswith(e)), base)
    try:
        return str(parse_sdist_filename(f"{stem}.tar.gz")[0])
    except InvalidSdistFilename as exc:
        raise InvalidSdistFilename(str(exc).replace(f"{stem}.tar.gz", base)) from None


_URL_ALONE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*\Z")  # a URL, all the requirement (no ``name @`` before it)


def _url_archive(url: str, hashes: list[str], where: str, state: _State) -> PythonPackage:
    """A wheel or sdist by its URL alone (no ``name @``): named by its file name, as a path is (``_local_archive``),
    and recorded as ``name @ url`` is."""
    base = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        name = _archive_project(base)
    except ValueError as exc:
        raise LockImportError(
            f"{where}: {grammar.shown(base, _SHOWN)}: the URL's file names no package ({_cut(packaging_refusal(exc))})"
        ) from None
    return _direct(name, "", _project_url(url, state), hashes, where)


def _looks_like_path(word: str) -> bool:
    """pip's test of a requirement word that may be a path: a ``/`` in it, and no URL (``scheme://``) or direct
    reference (``name @ url``, ``name@url``)."""
    return "/" in word and "://" not in word and "@" not in word and not word.startswith("file:")


def _editable(words: list[str], where: str, state: _State, *, editable: bool = True) -> PythonPackage:
    """The project of an ``-e`` line; ``editable=False``: of a project's folder installed as it is (``./labutils``),
    which a message does not call editable."""
    if not words:
        raise LockImportError(f"{where}: -e without a path")
    target = words[0]
    rest = list(itertools.takewhile(lambda word: not word.startswith("-"), words[1:]))
    if rest and target.startswith(_VCS):
        raise LockImportError(_spaced_vcs_editable(" ".join([target, *rest]), where))
    if rest:
        raise LockImportError(_spaced_editable(" ".join([target, *rest]), where))
    # pip's fragment, in either order (``pip freeze``: ``#egg=NAME&subdirectory=DIR``): #egg=NAME names the project,
    # no part of its folder; #subdirectory=DIR is the project's folder inside the repository or folder.
    location, _, fragment = target.partition("#")
    params = _fragment(fragment)
    subdirectory = params.get("subdirectory", "")
    if subdirectory and not grammar.is_relative_path(subdirectory):
        raise LockImportError(f"{where}: #subdirectory={subdirectory[:80]!r} is not a folder inside the project")
    if target.startswith(_VCS):
        egg = params.get("egg", "")
        if not egg:
            raise LockImportError(f"{where}: editable VCS reference without #egg=NAME")
        url = location + (f"#subdirectory={subdirectory}" if subdirectory else "")
        pkg = _direct(canonicalize_name(egg), "", url, [], where)
        return dataclasses.replace(pkg, source=dataclasses.replace(pkg.source, editable=editable))
    path = fileurls.file_url_path(location) if location.startswith("file:") else location
    directory, url = _local_project(path, state)
    if not directory.exists():
        # ``uv export`` in a workspace member's folder writes ``-e ./packages/app``, the path from the workspace root:
        # said as a folder that is not there, not as one without a name.
        relative = "" if os.path.isabs(path) else " (a relative path is the working directory's, as pip reads it"
        raise LockImportError(
            f"{where}: {_cut(target)}: no such folder: {directory}"
            + (f"{relative}: import from the folder you install from)" if relative else "")
        )
    name, version = _project_metadata(directory / subdirectory if subdirectory else directory, state.warnings)
    if subdirectory:
        directory = directory / subdirectory  # named in the message below, when it has no name
    egg = params.get("egg", "")
    if not name and editable and grammar.is_project_name(egg):
        name = egg  # ``-e file:///path#egg=NAME``, the line advised below: pip and uv install it editable
    if not name:
        relative = "" if os.path.isabs(path) else " (a relative path is the working directory's, as pip reads it)"
        what = "the editable project" if editable else "the project in the folder"
        # A line that names the project and installs it as this one does: ``NAME @ URL`` is not editable, and pip
        # refuses ``-e NAME @ URL``; ``-e URL#egg=NAME`` both pip and uv install editable.
        advised = f"-e {directory.as_uri()}#egg=NAME" if editable else f"NAME @ {directory.as_uri()}"
        raise LockImportError(
            f"{where}: cannot tell the name of {what} {target}: no pyproject.toml [project] name, "
            f"setup.cfg [metadata] name or built PKG-INFO in {directory}{relative}; "
            f"write it as {grammar.shown(advised, 400)}"
        )
    return PythonPackage(
        name=canonicalize_name(name),
        version=version,
        metadata_name=name if canonicalize_name(name) != name else "",
        source=Source(kind="directory", url=url, editable=editable, subdirectory=subdirectory),
    )


def _local_project(path: str, state: _State) -> tuple[Path, str]:
    """A local project's folder and its URL in the lock. pip reads a relative ``-e PATH`` from the working
    directory, not from the requirements file's folder (only ``-r``/``-c`` includes and ``--find-links`` are read
    from there), and envsnap's export writes it relative to the project root, to be installed from there: it is
    recorded under ``{project}`` (``_State.project_root``) when it lies there, else by its absolute path."""
    absolute, url = local_url(path, os.getcwd(), state.project_root())
    return Path(absolute), url


def source_tree_metadata(directory: Path, warnings: list[str]) -> tuple[str, str]:
    """A local project's name and version as this import reads them from its folder (``_project_metadata``): what the
    pylock import reads for a ``directory`` entry that names no version, as ``uv export`` writes the project."""
    return _project_metadata(directory, warnings)


def _project_metadata(directory: Path, warnings: list[str] | None = None) -> tuple[str, str]:
    """A source tree's name and version, read without running any of its code ("" for what it does not say): its
    pyproject.toml ``[project]``, else its setup.cfg ``[metadata]`` (static values only: a ``file:`` version is the
    build's), else a literal setuptools ``attr:`` version (``_attr_version``), else the metadata a build left in the
    folder (an unpacked sdist's ``PKG-INFO``, then a
    ``*.egg-info/PKG-INFO`` at its top or under ``src/``) when it names the same project and is not older than the
    sources it was built from (``_newer_source``: a leftover of a build before the version was bumped is not read,
    and ``warnings`` is told why). setup.py is never run.
    The version is normalised as the built metadata writes it: two imports taken before and after the project moved
    read as that move in ``diff``. A version nothing here names (``dynamic`` with nothing built) or one that is not
    PEP 440 is "": unknown, not guessed."""
    pyproject, setup_cfg = _pyproject(directory), _setup_cfg(directory)
    name, version = _pyproject_metadata(pyproject)
    if not (name and version):
        cfg_name, cfg_version = _setup_cfg_metadata(setup_cfg)
        same = not name or not cfg_name or canonicalize_name(cfg_name) == canonicalize_name(name)
        if same:
            name, version = name or cfg_name, version or cfg_version
    if not name:  # a setup.py project: the name its built metadata gives, when one build's is all there is
        built = {canonicalize_name(n): n for n, _v, _p in _built_metadata(directory) if grammar.is_project_name(n)}
        name = next(iter(built.values())) if len(built) == 1 else ""
    if name and not version:
        version = _attr_version(directory, pyproject, setup_cfg)
    if name and not version:
        version = _built_version(directory, name, [] if warnings is None else warnings)
    return name, version


def _attr_version(directory: Path, pyproject: dict[str, Any], setup_cfg: configparser.RawConfigParser | None) -> str:
    """The version setuptools reads from a module attribute (pyproject.toml ``[tool.setuptools.dynamic] version =
    {attr = "pkg.__version__"}``, setup.cfg ``version = attr: pkg.__version__``) where it is a literal string
    assigned at the module's top, read as setuptools reads it first: parsed, never imported. The module is looked
    for under ``src/`` and at the folder's top; "" for anything else (a computed value, another layout)."""
    import ast

    attr = ""
    with contextlib.suppress(AttributeError):  # a table that is not one
        dynamic = pyproject.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {})
        attr = dynamic.get("attr", "") if isinstance(dynamic, dict) else ""
    if not attr and setup_cfg is not None:
        value = setup_cfg.get("metadata", "version", fallback="").strip()
        attr = value[len("attr:") :].strip() if value.startswith("attr:") else ""
    parts = attr.split(".") if isinstance(attr, str) else []
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        return ""
    *module, attribute = parts
    for base in (directory / "src", directory):
        for path in (base.joinpath(*module).with_suffix(".py"), base.joinpath(*module, "__init__.py")):
            try:
                tree = ast.parse(_readlimits.read_text(path, error=LockImportError))
            except (LockImportError, SyntaxError, ValueError, RecursionError, MemoryError):
                # A module nested past the parser's depth (``'1' + '1' + ...`` 50,000 times) is RecursionError.
                continue
            for node in tree.body:  # the first assignment, as setuptools takes it
                if isinstance(node, ast.Assign):
                    targets = node.targets
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    targets = [node.target]
                else:
                    continue
                if node.value is not None and any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                    value = node.value
                    literal = value.value if isinstance(value, ast.Constant) else None
                    return _normal_version(literal)
            return ""
    return ""


def _normal_version(version: object) -> str:
    if not isinstance(version, str) or not version:
        return ""
    try:
        return str(Version(version))
    except ValueError:  # InvalidVersion, or a number past int()'s 4,300 digits: unknown as well
        return ""


def _pyproject(directory: Path) -> dict[str, Any]:
    """A source tree's pyproject.toml, parsed; {} when it has none that reads."""
    path = directory / "pyproject.toml"
    try:
        return _readlimits.load_toml(
            _readlimits.read_text(path, error=LockImportError), origin=str(path), error=LockImportError
        )
    except LockImportError:
        return {}


def _setup_cfg(directory: Path) -> configparser.RawConfigParser | None:
    """A source tree's setup.cfg, parsed as written; None when it has none that reads."""
    import configparser

    path = directory / "setup.cfg"
    try:
        text = _readlimits.read_text(path, error=LockImportError)
        parser = configparser.RawConfigParser()
        parser.read_string(text, source=str(path))
    except (LockImportError, configparser.Error):
        return None
    return parser


def _pyproject_metadata(data: dict[str, Any]) -> tuple[str, str]:
    project = data.get("project", {})
    if not isinstance(project, dict):
        return "", ""
    name = project.get("name", "")
    dynamic = project.get("dynamic", [])
    version = "" if isinstance(dynamic, list) and "version" in dynamic else _normal_version(project.get("version"))
    return (name if isinstance(name, str) else ""), version


def _setup_cfg_metadata(parser: configparser.RawConfigParser | None) -> tuple[str, str]:
    """setup.cfg's ``[metadata]`` name and version, as written (a ``attr:``/``file:`` directive is no version)."""
    if parser is None:
        return "", ""
    if not parser.has_section("metadata"):
        return "", ""
    name = parser.get("metadata", "name", fallback="").strip()
    version = parser.get("metadata", "version", fallback="").strip()
    if not grammar.is_project_name(name):
        name = ""
    return name, ("" if ":" in version else _normal_version(version))


def _built_version(directory: Path, name: str, warnings: list[str]) -> str:
    """The version of the metadata a build left in ``directory`` for project ``name``: an unpacked sdist's
    ``PKG-INFO``, then an ``*.egg-info/PKG-INFO`` or ``*.dist-info/METADATA`` at its top or under ``src/``, the first
    that no source is newer than; "" when none names that project, or each that does is older than a source (then
    ``warnings`` says which and why)."""
    stale = []
    for built_name, version, path in _built_metadata(directory):
        if canonicalize_name(built_name) != canonicalize_name(name) or not version:
            continue
        newer = _newer_source(directory, path)
        if not newer:
            return version
        stale.append(f"{path} says {version}, and {newer} changed after it was written")
    if stale:
        warnings.append(
            f"import: the version of {name} is unknown: the metadata a build left in its folder is older than its "
            f"sources ({'; '.join(stale)}), so it may name a version the project no longer builds; building the "
            "project again writes it anew"
        )
    return ""


# What a project's version may come from when the build computes it from its git history.
_VCS_VERSION_PLUGINS = ("setuptools_scm", "setuptools-scm", "use_scm_version", "hatch-vcs", "versioningit")


def _newer_source(directory: Path, metadata: Path) -> str:
    """What changed in project ``directory`` after the build wrote ``metadata``: one of its build files
    (pyproject.toml, setup.cfg, setup.py), a file its egg-info's ``SOURCES.txt`` lists (a version read from
    ``__init__.py`` or a VERSION file), or, for a version computed from git (setuptools-scm), its git history (a
    commit, a checkout or a tag); "" when nothing did. Only modification times are read: nothing is run."""
    try:
        written = metadata.stat().st_mtime
    except OSError:
        return ""
    sources = ["pyproject.toml", "setup.cfg", "setup.py"]
    if metadata.parent.name.endswith(".egg-info"):
        try:
            listed = _readlimits.read_text(metadata.parent / "SOURCES.txt", error=LockImportError).splitlines()
        except LockImportError:
            listed = []
        sources += [
            line.strip()
            for line in listed
            if grammar.is_relative_path(line.strip()) and ".egg-info/" not in line and line.strip() not in sources
        ]
    for source in sources:
        try:
            if (directory / source).stat().st_mtime > written:
                return source
        except OSError:
            continue
    if _version_from_vcs(directory):
        for marker in _git_history_files(directory):
            try:
                if marker.stat().st_mtime > written:
                    return "its git history (a commit, checkout or tag since)"
            except OSError:
                continue
    return ""


def _version_from_vcs(directory: Path) -> bool:
    """Whether the project's build files name a plugin that computes its version from git."""
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        try:
            text = _readlimits.read_text(directory / name, error=LockImportError)
        except LockImportError:
            continue
        if any(plugin in text for plugin in _VCS_VERSION_PLUGINS):
            return True
    return False


def _git_history_files(directory: Path) -> list[Path]:
    """The files git rewrites when a commit, a checkout or a tag moves the version a plugin computes: the reflog of
    HEAD and HEAD of the repository around ``directory`` (a worktree's own), and its tags (the common folder's)."""
    from ..probes.gitstate import git_folder_of

    found = git_folder_of(str(directory))
    if found is None:
        return []
    git_dir = common = Path(found)
    with contextlib.suppress(LockImportError):
        common = git_dir / _readlimits.read_text(git_dir / "commondir", error=LockImportError).strip()
    return [git_dir / "logs" / "HEAD", git_dir / "HEAD", common / "packed-refs", common / "refs" / "tags"]


def _built_metadata(directory: Path) -> list[tuple[str, str, Path]]:
    """(name, normalised version, file) of each metadata file a build left in ``directory``, in the order they
    count."""
    from email.parser import HeaderParser

    places = [directory / "PKG-INFO"]
    for base in (directory, directory / "src"):
        try:
            entries = sorted(p for p in base.iterdir() if p.is_dir())
        except OSError:
            continue
        places += [p / "PKG-INFO" for p in entries if p.name.endswith(".egg-info")]
        places += [p / "METADATA" for p in entries if p.name.endswith(".dist-info")]
    found = []
    for path in places:
        try:
            headers = HeaderParser().parsestr(_readlimits.read_text(path, error=LockImportError))
        except LockImportError:
            continue
        name = str(headers.get("Name", "")).strip()
        found.append((name, _normal_version(str(headers.get("Version", "")).strip()), path))
    return found


class RequirementsImporter(Importer):
    name = "requirements"
    description = "pinned requirements.txt with --hash options (pip-compile --generate-hashes, envsnap)"
    examples = ("requirements.txt",)

    def sniff(self, name: str, text: str) -> bool:
        return sniff(name, text)

    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        return read(text, origin, options)


IMPORTER = RequirementsImporter()
