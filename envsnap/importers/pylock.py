"""Read a PEP 751 ``pylock.toml`` (envsnap's own export or any other tool's) into a lock.

The file is checked with ``packaging.pylock`` when available. ``[tool.envsnap]`` tables, written by
``envsnap export --format pylock``, restore what PEP 751 has no field for (which packages were requested,
the installer, the spelling of the name, the exact Python version), so a round trip keeps the Python layer.

A package with several files (``uv export`` and a universal ``uv pip compile`` list a wheel per platform)
keeps every one as a ``candidate``; ``envsnap pin`` picks the wheel that fits the target. A ``directory``
package (the project itself, in ``uv export``) needs no version: its wheel is built from the tree; the
static version its folder names here is read, as the requirements import reads one.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.utils import canonicalize_name

from .. import _readlimits, fileurls, grammar, interchange
from ..model import Artifact, Candidate, Meta, Platform, PythonEnv, PythonPackage, Snapshot, Source
from ..platforms import major_minor
from .interface import (
    HOST_UNKNOWN,
    PIP_KIND,
    PLATFORM_DETAILS,
    Importer,
    ImportOptions,
    LockImportError,
    check_lock_url,
    file_name_version,
    import_root,
    in_seed_folder,
    judged_python,
    left_out_names,
    local_url,
    refuse_another_file,
    wheel_file_tags,
    work_tree,
)

_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}
_CLAUSE = re.compile(r"^\s*(\w+)\s*==\s*['\"]([^'\"]*)['\"]\s*$")


def sniff(name: str, text: str) -> bool:
    return ((not name or name.endswith(".toml")) and "lock-version" in text and "[[packages]]" in text) or bool(
        re.fullmatch(r"pylock(\.[^.]+)?\.toml", name)
    )


def read(text: str, origin: str, options: ImportOptions) -> Snapshot:
    data = _readlimits.load_toml(text, origin=origin, error=LockImportError)
    warnings: list[str] = []
    newer = _lock_version(data, origin)
    if newer:
        warnings.append(newer)
    _validate(data, origin)
    tool = _tool(data)
    version = str(tool.get("python-version", "")) or _requires_python_version(data)
    entries, version = _for_this_host(data, origin, version, warnings)
    paths = _Paths(os.path.dirname(os.path.realpath(origin)), options)
    paths.named = _named_find_links(text, paths.folder)
    read_packages = [_package(entry, i, origin, paths, warnings) for i, entry in entries]
    names = [p.name for p in read_packages]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LockImportError(
            f"{origin}: {', '.join(twice)} locked more than once for this host "
            "(one entry per platform?); envsnap records one environment"
        )
    packages = tuple(sorted(read_packages, key=lambda p: p.name))
    env = _environment(data)
    python = PythonEnv(
        implementation=env.get("implementation_name", ""),
        version=version,
        abi=str(tool.get("python-abi", "")),
        platform_tag=str(tool.get("platform-tag", "")),
        kind="venv",
        packages=packages,
    )
    platform = Platform(
        system=_SYSTEMS.get(env.get("sys_platform", ""), env.get("sys_platform", "")),
        machine=env.get("platform_machine", ""),
    )
    # uv (``uv pip compile``, ``uv export``) leaves out pip and setuptools, which ``python -m venv`` seeds, as pip
    # freeze does: unknown where the file does not name pip (envsnap's export of a capture names them).
    unknown = [*HOST_UNKNOWN, "conda", *PLATFORM_DETAILS, *PIP_KIND, *interchange.seeds_left_out(names)]
    if not platform.system:
        unknown += ["platform.system"]
    if not platform.machine:
        unknown += ["platform.machine"]
    # Only a range (uv writes requires-python = ">=3.11"), and no marker judged for a Python: no version to rebuild.
    if not python.version:
        unknown += ["python.version"]
    # Both come from the file: a tool name or a time that does not fit its grammar is left out, not refused.
    generator = f"envsnap import from {data.get('created-by', 'an unknown tool')}"
    captured = tool.get("captured", "")
    meta = Meta(
        generator=generator if grammar.is_generator(generator) else "envsnap import from an unknown tool",
        created=captured if isinstance(captured, str) and grammar.is_timestamp(captured) else "",
        origin="pylock",
        unknown=tuple(sorted(unknown)),
        warnings=tuple(warnings),
    )
    return Snapshot(envsnap=meta, platform=platform, python=python)


def _for_this_host(
    data: Mapping[str, Any], origin: str, version: str, warnings: list[str]
) -> tuple[list[tuple[int, Mapping[str, Any]]], str]:
    """The packages whose ``marker`` holds on this host (a lock may cover several platforms), as an installer asked
    for nothing more installs them (PEP 751): no extras, and the file's ``default-groups`` as the dependency groups
    (pdm's export marks every package ``"default" in dependency_groups``, an extra's ``"plot" in extras``); and the
    Python version the lock records: ``version``, the file's, else the one the markers were judged for where they
    name Python's version (``judged_python``), so that check and rebuild with another Python say so."""
    entries: list[Any] = data["packages"]
    groups = frozenset(str(g) for g in data.get("default-groups") or ())
    env: dict[str, str | frozenset[str]] = {key: str(value) for key, value in default_environment().items()}
    env.update(extras=frozenset(), dependency_groups=groups)
    if version and major_minor(version) != env["python_version"]:
        # The file names the Python it is for (requires-python = "==3.12.*"): its markers are judged for that one, not
        # this host's, whose picks the lock recorded under the file's version (a minor release alone: its .0).
        full = version if len(version.split(".")) > 2 else f"{version}.0"
        env.update(python_version=major_minor(version), python_full_version=full)
    kept = []
    skipped: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        marker = entry.get("marker")
        if marker and not _holds(marker, env, f"{origin}: packages[{i}].marker"):
            skipped.append((canonicalize_name(str(entry["name"])), str(entry.get("version") or "")))
            continue
        kept.append((i, entry))
    if any(entry.get("marker") for entry in entries):
        host = f"{env['sys_platform']}, {env['platform_machine']}, Python {env['python_version']}"
        if version and env["python_version"] != default_environment()["python_version"]:
            host += ", the one the file names"
        if "extras" in data or "dependency-groups" in data:
            host += f"; no extras, dependency groups: {', '.join(sorted(groups)) or 'none'}"
        kept_names = {canonicalize_name(str(entry["name"])) for _, entry in kept}
        if not kept and skipped:
            # uv pip compile --universal -p 3.12 of a 3.11 host: "no packages in it", of a file that lists some.
            raise LockImportError(
                f"{origin}: every package in it is for another host: left out by its marker on this one ({host}): "
                f"{left_out_names(skipped, set())}; nothing to import"
            )
        left = f"; left out: {left_out_names(skipped, kept_names)}" if skipped else ""
        judged = judged_python(
            (str(entry.get("marker") or "") for entry in entries),
            str(env["python_full_version"]),
            lambda marker, version: _holds(
                marker, {**env, "python_version": major_minor(version), "python_full_version": version}, ""
            ),
        )
        records = (
            f"; the lock records Python {judged}, the version they were judged for" if judged and not version else ""
        )
        warnings.append(f"import: package markers were evaluated for this host ({host}){left}{records}")
        version = version or judged
    return kept, version


def _holds(marker: str, env: Mapping[str, str | frozenset[str]], where: str) -> bool:
    """Does a package's marker hold, read as a lock file's marker (``extras`` and ``dependency_groups`` are sets)?"""
    try:
        parsed = Marker(marker)
        if "context" not in inspect.signature(parsed.evaluate).parameters:  # packaging < 25: no lock-file markers
            # The host's variables, and the Python version ``judged_python`` asks of: no extras, no groups.
            return parsed.evaluate({key: value for key, value in env.items() if isinstance(value, str)})
        return parsed.evaluate(env, "lock_file")
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, AssertionError) as exc:
        # packaging asserts where a set is compared as a version (extras >= "1"): bad input all the same.
        reason = str(exc).splitlines()[0] if str(exc) else "a set compared as a string"
        raise LockImportError(f"{where}: cannot evaluate {grammar.shown(marker)}: {reason}") from None
    except KeyError as exc:
        # A variable no lock file's context defines (``extra``, a requirement's: a lock file names ``extras``), which
        # packaging looks up without a check of its own.
        raise LockImportError(
            f"{where}: cannot evaluate {grammar.shown(marker)}: {grammar.shown(str(exc.args[0]) if exc.args else '')} "
            "is not a lock file's marker variable (PEP 751 names extras and dependency_groups)"
        ) from None


_MESSAGE_LIMIT = 200  # packaging's message about a value, as an error line shows it


# The format PEP 751 specifies, and how its lock-version is written: MAJOR.MINOR (or MAJOR alone, which packaging reads
# as MAJOR.0), each a few digits.
_LOCK_MAJOR, _LOCK_MINOR = 1, 0
_LOCK_VERSION = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,9}))?")


def _lock_version(data: Mapping[str, Any], origin: str) -> str:
    """Refuse a ``lock-version`` of a major version envsnap does not know, before any package is read: PEP 751 says a
    tool must (read by version 1's rules, a 2.0 file's first package was the error). The warning for a newer minor
    version (PEP 751: a tool should warn), else ""."""
    if "lock-version" not in data:
        return ""  # not a pylock file: _validate says so
    raw = data["lock-version"]
    m = _LOCK_VERSION.fullmatch(raw) if isinstance(raw, str) else None
    if m is None:
        shown = (
            grammar.shown(raw, 40) if isinstance(raw, str) else f"{type(raw).__name__} {grammar.shown(str(raw), 40)}"
        )
        raise LockImportError(f'{origin}: lock-version {shown} is not a version MAJOR.MINOR (PEP 751: "1.0")')
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if major != _LOCK_MAJOR:
        raise LockImportError(
            f"{origin}: lock-version {raw} is not supported: envsnap reads pylock files of lock-version {_LOCK_MAJOR} "
            "(PEP 751)"
        )
    if minor > _LOCK_MINOR:
        return (
            f"lock-version {raw} is newer than the {_LOCK_MAJOR}.{_LOCK_MINOR} envsnap knows: what it adds is not read "
            "(PEP 751)"
        )
    return ""


def _validate(data: Mapping[str, Any], origin: str) -> None:
    # Its lock-version already judged (_lock_version): packaging's own warning of a newer minor version went to the
    # logger, a bare line on standard error beside envsnap's.
    data = {**data, "lock-version": f"{_LOCK_MAJOR}.{_LOCK_MINOR}"} if "lock-version" in data else data
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:  # packaging < 26: check the little this module relies on
        if not isinstance(data.get("packages"), list) or "lock-version" not in data:
            raise LockImportError(f"{origin}: not a pylock file (lock-version and [[packages]] needed)") from None
        return
    try:
        Pylock.from_dict(data)
    except PylockValidationError as exc:
        # packaging's message quotes the whole value (a marker on a second line, with a caret): one line, cut short.
        lines = exc.message.splitlines() or [""]
        message = lines[0] if len(lines[0]) <= _MESSAGE_LIMIT else lines[0][: _MESSAGE_LIMIT - 4] + "...'"
        where = f" in {exc.context!r}" if exc.context else ""
        raise LockImportError(f"{origin}: not a valid pylock file: {message}{where}") from None


def _tool(table: Mapping[str, Any]) -> Mapping[str, Any]:
    tool = table.get("tool", {})
    envsnap = tool.get("envsnap", {}) if isinstance(tool, Mapping) else {}
    return envsnap if isinstance(envsnap, Mapping) else {}


def _environment(data: Mapping[str, Any]) -> dict[str, str]:
    """Marker variables pinned by ``environments`` (only when it is one conjunction of ``==`` tests)."""
    envs = data.get("environments") or []
    if len(envs) != 1 or " or " in envs[0]:
        return {}
    found = {}
    for clause in envs[0].split(" and "):
        m = _CLAUSE.match(clause)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _requires_python_version(data: Mapping[str, Any]) -> str:
    m = re.fullmatch(r"\s*===?\s*([\d.]+?)(\.\*)?\s*", str(data.get("requires-python", "")))
    return m.group(1) if m else ""


def _package(entry: Mapping[str, Any], i: int, origin: str, paths: _Paths, warnings: list[str]) -> PythonPackage:
    tool = _tool(entry)
    flags = f"{origin}: packages[{i}].tool.envsnap"
    requested, conda_managed, rebuilt = (_flag(tool, key, flags) for key in ("requested", "conda-managed", "rebuilt"))
    name = canonicalize_name(entry["name"])
    version = str(entry.get("version", "") or tool.get("version", ""))
    source = Source()
    artifact = None
    candidates: tuple[Candidate, ...] = ()
    if "vcs" in entry:
        vcs = entry["vcs"]
        if vcs["type"] == "git" and not grammar.is_git_commit(str(vcs["commit-id"])):
            raise LockImportError(
                f"{origin}: packages[{i}].vcs.commit-id: {grammar.shown(str(vcs['commit-id']), 80)} is not a git "
                "commit id (the exact commit PEP 751 records; a branch or tag is its requested-revision)"
            )
        if not vcs.get("url"):
            paths.warn_outside(str(vcs["path"]), name, f"packages[{i}].vcs.path", warnings)
        source = Source(
            kind="vcs",
            url=vcs.get("url") or paths.url(vcs["path"]),
            vcs=vcs["type"],
            commit_id=vcs["commit-id"],
            requested_revision=vcs.get("requested-revision", ""),
            subdirectory=vcs.get("subdirectory", ""),
        )
        if not version:
            # pip lock writes a git package with no version (PEP 751 asks none of a source tree): read from its
            # commit in a repository on this machine, as the requirements import reads uv export's ``@COMMIT``.
            from .requirements import commit_version

            version = commit_version(PythonPackage(name=name, version="", source=source), warnings, file="the pylock")
    elif "directory" in entry:
        d = entry["directory"]
        paths.warn_outside(str(d["path"]), name, f"packages[{i}].directory.path", warnings)
        source = Source(
            kind="directory",
            url=paths.url(d["path"]),
            editable=_flag(d, "editable", f"{origin}: packages[{i}].directory"),
            subdirectory=d.get("subdirectory", ""),
        )
        if not version:
            version = _tree_version(name, str(d["path"]), source.subdirectory, paths, warnings)
    elif "archive" in entry:
        a = entry["archive"]
        hashes = a["hashes"]
        algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
        source = Source(
            kind="archive",
            url=paths.located(a, f"{origin}: packages[{i}].archive"),
            archive_hash=f"{algo}={hashes[algo]}",
            subdirectory=a.get("subdirectory", ""),
        )
        # packaging's pylock checks the name of a wheel or an sdist entry, not of an archive's file: six 2.0 from
        # requests' wheel was imported so, a file pip refuses under that name and whose sha256 pins the other one.
        refuse_another_file(str(entry["name"]), version, source.url, f"{origin}: packages[{i}].archive")
        # pip lock writes an archive with no version: its file's name gives it, as a requirement's URL's does.
        version = version or file_name_version(name, source.url)
        artifact = _archive_artifact(a, f"{origin}: packages[{i}].archive", source.url, rebuilt)
    else:
        # Each file with where it is in the pylock, as its errors name it.
        wheels = [(file, f"{origin}: packages[{i}].wheels[{n}]") for n, file in enumerate(entry.get("wheels") or [])]
        sdist = [(entry["sdist"], f"{origin}: packages[{i}].sdist")] if "sdist" in entry else []
        for file, where in [*wheels, *sdist]:
            _size(file, where)  # each file's, the one not taken too
        wheels = _distinct(wheels)
        files = wheels or sdist
        if not any(file.get("hashes", {}).get("sha256") for file, _where in [*wheels, *sdist]) and files:
            # PEP 751 takes any algorithm; with none of sha256, the lock's record of a file, the package was imported
            # with no file, URL or hash, and pin took any file of that release from the index.
            file, where = [*wheels, *sdist][0]
            algorithms = ", ".join(sorted(str(a) for a in file.get("hashes", {}))) or "none"
            if not algorithms.isprintable() or len(algorithms) > 80:
                algorithms = grammar.shown(algorithms, 80)
            raise LockImportError(
                f"{where}: {entry['name']}: no sha256 among its hashes ({algorithms}), by which a "
                "lock records a file: write the pylock with sha256 hashes (uv, pip lock and pdm write them)"
            )
        if len(files) == 1:
            artifact = _artifact(*files[0], entry, tool, paths, rebuilt)
        else:
            # Every wheel, then the sdist: pin picks the file for the target from them.
            candidates = tuple(c for file, where in [*wheels, *sdist] if (c := _candidate(file, entry, paths, where)))
    # The one wheel the lock installs (or an archive's, by URL) names its tags, as a capture reads them from its WHEEL
    # file and the requirements and conda imports from a wheel's name; several files leave the wheel to ``pin``.
    named = _url_file_name(source.url) if source.kind == "archive" else ""
    named = artifact.filename if artifact is not None else named
    tags = wheel_file_tags(named, name, version) if named else ()
    return PythonPackage(
        name=name,
        version=version,
        installer=str(tool.get("installer", "")),
        requested=requested,
        source=source,
        metadata_name=str(tool.get("metadata-name", "")),
        requires_python=str(entry.get("requires-python", "") or tool.get("requires-python", "")),
        artifact=artifact,
        conda_managed=conda_managed,
        candidates=candidates,
        wheel_tags=tags,
    )


def _tree_version(name: str, path: str, subdirectory: str, paths: _Paths, warnings: list[str]) -> str:
    """The version a local project's folder names (pyproject.toml ``[project]``, setup.cfg, a literal ``attr:``),
    read as the requirements import reads one of ``-e ./mypkg``: ``uv export`` writes the project with no version
    (``directory = { path = "mypkg", editable = true }``), and ``diff`` of its pylock and its requirements file then
    called the version unknown. Read without running anything; "" where the folder is not here or names another
    project or no static version."""
    from pathlib import Path

    from .requirements import source_tree_metadata

    folder = Path(local_url(path, paths.folder, "")[0])
    if subdirectory:
        folder = folder / subdirectory
    if not folder.is_dir():
        return ""
    found, version = source_tree_metadata(folder, warnings)
    return version if found and canonicalize_name(found) == name else ""


def _distinct(wheels: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """The wheels, each file once: uv writes a wheel of a ``--find-links`` folder once for each time the folder is
    named (in requirements.in and on its command line: the same ``url`` and hashes twice), one file all the same."""
    seen: set[str] = set()
    out = []
    for file, where in wheels:
        key = repr(
            (file.get("url"), file.get("path"), file.get("name"), sorted(dict(file.get("hashes") or {}).items()))
        )
        if key not in seen:
            seen.add(key)
            out.append((file, where))
    return out


@dataclass
class _Paths:
    """PEP 751 reads a relative ``path`` from the pylock's folder (``uv export -o locks/pylock.toml`` writes the
    project as ``../``; a project in a subfolder of its repository writes ``.``): the lock records it under
    ``{project}``, the git work tree around that folder (found once), as a lock captured there does; outside any work
    tree the folder of the lock the import writes, which every reader of the lock takes for the project there."""

    folder: str
    options: ImportOptions  # its ``lock_folder``, and its work trees, found once each
    named: frozenset[str] = frozenset()  # the --find-links folders the header names (``_named_find_links``)

    def url(self, path: str) -> str:
        return local_url(path, self.folder, import_root(self.folder, self.options))[1]

    def warn_outside(self, path: str, name: str, where: str, warnings: list[str]) -> None:
        """A warning where a local project's or repository's ``path`` (``where`` in the pylock) leads outside the
        pylock's folder and the git work tree around it: PEP 751 reads it from the pylock's folder, so a stranger's
        ``../../../etc`` named a folder of the reviewer's machine, which a rebuild builds (running its build backend),
        recorded without a word. uv's ``..`` of ``locks/pylock.toml`` stays in its work tree."""
        absolute = local_url(path, self.folder, "")[0]
        tree = work_tree(self.folder, self.options)
        from pathlib import Path

        # Links resolved, as ``_fs.join_relative`` judges a path inside a folder.
        if Path(os.path.realpath(absolute)).is_relative_to(os.path.realpath(tree or self.folder)):
            return
        around = " and its git work tree" if tree else ""
        warnings.append(
            f"import: {name}: {where} {grammar.shown(path)} is {absolute}, outside the pylock's folder{around}: a "
            f"rebuild of this lock {'clones that repository' if '.vcs.' in where else 'builds that folder'} of the "
            "machine it runs on; check that it is the project you mean"
        )

    def in_named_folder(self, url: str) -> bool:
        """Whether ``url`` is a ``file:`` URL of a file in a ``--find-links`` folder the pylock's header names."""
        if not self.named or not fileurls.is_file_url(url) or fileurls.is_labelled(url):
            return False
        local = fileurls.local_path(url)
        return local is not None and local.is_absolute() and os.path.realpath(local.parent) in self.named

    def located(self, file: Mapping[str, Any], where: str) -> str:
        """Where a file entry (a wheel, an sdist, an archive) is, as the lock records it: its ``url``, or its ``path``
        (``url``). A ``file:`` URL is this machine's path of the file (uv writes a find-links wheel as ``url =
        "file:///home/me/proj/wheels/x.whl"``), recorded as that path is, under ``{project}`` where it lies in the
        project: it was kept absolute where ``path`` of the same file was not. Only where the project is known (the
        git work tree around the pylock's folder, or the folder of the lock the import writes): a pylock read on its
        own (``read_file`` of the API, ``-o -``) names its files by their URL, which the caller's ``pin`` reads."""
        url = str(file.get("url") or "")
        if not url:
            return self.url(str(file["path"]))
        # Refused as a lock refuses it, naming the entry: ``file://https://host/x.whl`` (host ``https:``) was read as
        # the local path //host/x.whl, and recorded as a URL the file does not hold.
        check_lock_url(url, f"{where}: url")
        root = work_tree(self.folder, self.options) or self.options.lock_folder
        local = fileurls.local_path(url) if fileurls.is_file_url(url) and not fileurls.is_labelled(url) else None
        return local_url(str(local), self.folder, root)[1] if root and local and local.is_absolute() else url

    def find_links(self, location: str) -> str:
        """A ``[tool.envsnap] find-links`` folder as the lock records it. The export writes the lock's own, where a
        folder of the project is ``file://{project}/wheels`` beside the wheel's path relative to the pylock
        (``wheels/x.whl``): read from the pylock's folder as that path is and recorded as ``envsnap pin`` records
        a folder (under the lock's project or home by its label, else by its path), not kept as a label of another
        project (an import written into another folder named ``locks/wheels``, and the requirements export wrote
        ``--extra-index-url file://{project}/wheels``)."""
        relative = fileurls.file_url_path(location)
        if not location.startswith(f"file://{fileurls.PROJECT}") or not (
            relative == "." or grammar.is_relative_path(relative)
        ):
            return location
        url = self.url(relative)
        return url if fileurls.is_labelled(url) else fileurls.file_url_path(url)


def _candidate(file: Mapping[str, Any], entry: Mapping[str, Any], paths: _Paths, where: str) -> Candidate | None:
    sha256 = str(file.get("hashes", {}).get("sha256", ""))
    if not sha256:
        return None
    url = paths.located(file, where)
    filename = str(file.get("name") or _url_file_name(url))
    for label, ok, value in (
        ("sha256", grammar.is_sha256_hex(sha256), sha256),
        ("file name", grammar.is_distribution_filename(filename), filename),
        ("url", grammar.is_url(url) or url.startswith("file://{project}"), url),
    ):
        if not ok:
            raise LockImportError(f"{where}: not a valid {label}: {grammar.shown(value)}")
    stamp = file.get("upload-time")
    return Candidate(
        sha256=sha256,
        filename=filename,
        url=url,
        size=_size(file, where),
        upload_time=_upload_time(stamp, where),
        index=str(entry.get("index", "")),
    )


def _size(file: Mapping[str, Any], where: str) -> int:
    """A file's ``size`` (0 where it gives none). PEP 751 makes it an integer: ``size = true``, which Python counts
    as one, was read as 1 byte (``false`` as none) where packaging does not check the file (older than 26.4)."""
    size = file.get("size", 0)
    if not grammar.is_file_size(size):
        raise LockImportError(
            f"{where}.size: not a size in bytes (an integer from 0 to {grammar.MAX_FILE_SIZE}): {grammar.shown(size)}"
        )
    return size


def _archive_artifact(archive: Mapping[str, Any], where: str, url: str, rebuilt: bool) -> Artifact | None:
    """The file of an ``archive`` entry that gives its ``size`` (checked) and sha256, recorded as the lock's
    ``artifact``, as ``pin`` records an archive's (``export BUNDLE -f pylock`` writes each bundled wheel so), with its
    ``upload-time``: its size and upload time were read and dropped, and the lock's own pylock export then wrote
    neither. Without a size, or with a name that is no distribution file's (``.../download?id=3``), nothing is
    recorded, as before: ``pin`` finds the file."""
    size = _size(archive, where)
    sha256 = archive["hashes"].get("sha256", "")
    filename = _url_file_name(url)
    if not size or not grammar.is_distribution_filename(filename):
        return None
    if not grammar.is_sha256_hex(sha256):
        raise LockImportError(f"{where}.hashes.sha256: not a valid sha256: {grammar.shown(sha256)}")
    stamp = _upload_time(archive.get("upload-time"), where)
    return Artifact(filename=filename, url=url, sha256=sha256, size=size, upload_time=stamp, rebuilt=rebuilt)


def _flag(table: Mapping[str, Any], key: str, where: str) -> bool:
    """A flag of ``table`` (false where it is not given): ``true`` or ``false``, never another value read as one
    (``requested = "false"`` was true, as ``bool`` of a non-empty string)."""
    value = table.get(key, False)
    if type(value) is not bool:
        raise LockImportError(f"{where}.{key}: not true or false: {grammar.shown(value)}")
    return value


def _url_file_name(url: str) -> str:
    """A file's name from its URL, as PEP 751 infers a missing ``name``: the last part of the URL's path. A query
    (a presigned URL's signature, ``...whl?X-Amz-Signature=...``) was read as part of the name, which the lock
    then refused."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _upload_time(stamp: object, where: str) -> str:
    """A file's ``upload-time`` as the lock writes it (UTC, ``Z``; one without an offset is UTC); "" without one. A
    time that names no moment in UTC (9999-12-31T23:59:59-23:59, after the last one Python's datetime holds) is bad
    input, said in one line."""
    if not isinstance(stamp, datetime):
        return ""
    if stamp.tzinfo is None:
        # A TOML local date-time: UTC, as the lock reads one (``interchange.parse_time``), not this machine's zone.
        stamp = stamp.replace(tzinfo=timezone.utc)
    try:
        return interchange.format_time(stamp)
    except (OverflowError, ValueError):
        raise LockImportError(f"{where}: upload-time {stamp.isoformat()} is out of range") from None


def _artifact(
    file: Mapping[str, Any],
    where: str,
    entry: Mapping[str, Any],
    tool: Mapping[str, Any],
    paths: _Paths,
    rebuilt: bool,
) -> Artifact | None:
    sha256 = file.get("hashes", {}).get("sha256", "")
    if not sha256:
        return None
    url = paths.located(file, where)
    filename = file.get("name") or _url_file_name(url)
    stamp = file.get("upload-time")
    index = str(entry.get("index", "")) or paths.find_links(str(tool.get("find-links", "")))
    if in_seed_folder(url) and _wheel_of(filename, str(entry["name"])):
        # envsnap's export names a seed wheel of a Debian venv (pip, setuptools: installed by ensurepip) by this
        # machine's file, which the lock it came from did not name: the lock records it as that lock, a capture, pin
        # and the requirements import do, by file name and sha256 (``named_only``), not by a folder of the author's
        # machine; an export names this machine's file again.
        url, index = "", ""
    elif (
        not index
        and paths.in_named_folder(str(file.get("url") or ""))
        and (folder := _find_links_folder(url, filename))
    ):
        # uv writes a wheel (or sdist) its --find-links folder holds as ``url = "file:///home/me/proj/wheels/x.whl"``
        # and no ``index``; where the file's header names that folder (``--emit-find-links`` keeps ``--find-links
        # ./wheels`` in the command it quotes), the file is recorded by its name in that folder, as the requirements
        # import of uv's ``--emit-find-links`` output records the same file, so ``diff`` of the two imports of one
        # resolution finds them alike. A folder the file does not name keeps the URL (a file of an unnamed folder).
        url, index = "", folder
    elif (
        fileurls.is_file_url(index)
        and not fileurls.is_labelled(index)
        and str(file.get("url") or "").rsplit("/", 1)[0] == index.rstrip("/")
        and (folder := _find_links_folder(url, filename))
    ):
        # ``uv export`` of a project whose ``[tool.uv] find-links`` folder holds the wheel names that folder as the
        # package's ``index`` and the wheel by its ``file:`` URL there: recorded by its name in the folder, as the
        # header's folder above and the requirements import's ``--find-links`` folder are.
        url, index = "", folder
    elif url and url == interchange.file_in_folder(filename, index):
        # A wheel of the find-links folder the export named (``[tool.envsnap] find-links``): recorded by its name in
        # that folder, as the requirements import records a file its --find-links folder holds, not by this
        # machine's path of it: every reader finds it in the folder (interchange.file_in_folder).
        url = ""
    return Artifact(
        filename=filename,
        url=url,
        sha256=sha256,
        size=_size(file, where),
        upload_time=_upload_time(stamp, where),
        index=index,
        rebuilt=rebuilt,
    )


def _named_find_links(text: str, folder: str) -> frozenset[str]:
    """The local ``--find-links`` folders (real paths) the command a uv pylock's header quotes names (``#    uv pip
    compile --find-links ./wheels --emit-find-links ...``), a relative one read from the pylock's folder or the
    working directory. Only the
    comment lines above the file's first key are read, and nothing of them is run or opened."""
    import shlex

    found: set[str] = set()
    for line in text.splitlines()[:_HEADER_LINES]:
        if not line.startswith("#"):
            break
        command = line.lstrip("#").strip()
        if not command.startswith("uv "):
            continue
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        for i, word in enumerate(words):
            if word in ("--find-links", "-f") and i + 1 < len(words):
                location = words[i + 1]
            elif word.startswith("--find-links="):
                location = word.partition("=")[2]
            else:
                continue
            if location.startswith("file:"):
                location = fileurls.file_url_path(location)
            if location and "://" not in location:
                # uv read it from the folder it ran in: the pylock's, or the working directory (``-o locks/...``).
                for base in (folder, os.getcwd()):
                    found.add(os.path.realpath(os.path.join(base, os.path.expanduser(location))))
    return frozenset(found)


_HEADER_LINES = 8  # uv's header: two comment lines


def _find_links_folder(url: str, filename: str) -> str:
    """The local folder a file entry's ``file:`` URL (as ``_Paths.located`` records it) lies in, as the lock records a
    ``--find-links`` folder (``file://{project}/wheels``, ``file://~/wheels``, ``/opt/wheels``), where the URL is
    that folder's file ``filename`` (``interchange.file_in_folder``); "" for any other URL."""
    if not fileurls.is_file_url(url) or "/" not in url:
        return ""
    parent = url.rsplit("/", 1)[0]
    folder = parent if fileurls.is_labelled(url) else fileurls.file_url_path(parent)
    return folder if folder and interchange.file_in_folder(filename, folder) == url else ""


def _wheel_of(filename: str, name: str) -> bool:
    """Whether ``filename`` is a wheel of project ``name``."""
    from packaging.utils import parse_wheel_filename

    try:
        return filename.endswith(".whl") and parse_wheel_filename(filename)[0] == canonicalize_name(name)
    except ValueError:  # InvalidWheelFilename, or a version number past int()'s 4,300 digits
        return False


class PylockImporter(Importer):
    name = "pylock"
    description = "PEP 751 pylock.toml (from envsnap, uv, pdm, pip lock ...)"
    examples = ("pylock.toml",)

    def sniff(self, name: str, text: str) -> bool:
        return sniff(name, text)

    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        return read(text, origin, options)


IMPORTER = PylockImporter()
