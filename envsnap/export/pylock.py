"""``pylock``: a PEP 751 ``pylock.toml`` of the Python layer, installable with ``uv pip sync``.

Index packages become ``wheels`` (or an ``sdist``) with url, size, upload time and sha256 from their pinned
artifact; VCS, directory and archive installs keep their PEP 610 source. ``environments`` and
``requires-python`` pin the file to the captured OS, CPU architecture and Python; everything only envsnap
needs to read the file back rides in ``[tool.envsnap]``, which installers ignore.
"""

from __future__ import annotations

from typing import Any

import tomli_w

from .. import fileurls, platforms, sinks
from ..errors import ExportError
from ..model import PythonPackage, Snapshot
from . import _common
from .interface import (
    Exporter,
    UnpinnedError,
    listed_files,
    package_list,
    pin_command,
    require_pinned,
    require_python_layer,
    unpinned,
)

LOCK_VERSION = "1.0"
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")


def render(snapshot: Snapshot) -> dict[str, bytes]:
    return {"pylock.toml": dumps(snapshot).encode("utf-8")}


def dumps(snapshot: Snapshot) -> str:
    with sinks.refusing(ExportError, "pylock"):  # the environment marker quotes lock values
        document = to_document(snapshot)
    validate(document)
    text = tomli_w.dumps(document)
    # PEP 751 reads a relative path relative to the file: one written from {project} holds only at its root.
    return f"# {_common.RELATIVE_NOTE}\n{text}" if _common.has_project_paths(snapshot) else text


def to_document(snapshot: Snapshot) -> dict[str, Any]:
    require_python_layer(snapshot, "pylock")
    unplaced = [
        p
        for p in snapshot.python.packages
        if p.source.kind == "index" and p.artifact and not _common.file_url(p.artifact)
    ]
    missing = unpinned(snapshot, listed=True)
    missed = {id(p) for p in missing}
    by_hash = [p for p in unplaced if p.artifact is not None and p.artifact.sha256 and id(p) not in missed]
    if missing and by_hash:
        # Both said at once (``--no-pin`` of an import of pip-compile's output: a package with several hashes has no
        # file yet, one with one hash has no file name): the first refusal named the first kind alone, and once
        # that was settled the second came.
        raise UnpinnedError(
            f"pylock: {len(missing)} package(s) have no pinned artifact (file URL and sha256): "
            f"{package_list(missing)}; {len(by_hash)} more are known by hash only, not by file (imported from a "
            f"requirements.txt?): {package_list(by_hash)}; run `{pin_command()}` first or pass --pin",
            (p.name for p in (*missing, *by_hash)),
        )
    require_pinned(snapshot, "pylock", listed=True)
    named = named_only(snapshot)
    if named:
        raise ExportError(
            named_only_message(
                named, "export the bundle directory that holds them (`envsnap export BUNDLE_DIR --format pylock`)"
            )
        )
    if unplaced:  # what pinning finds the file of: the CLI says why it did not, where it ran
        raise UnpinnedError(
            f"pylock: {len(unplaced)} package(s) are known by hash only, not by file "
            f"(imported from a requirements.txt?): {package_list(unplaced)}; "
            f"run `{pin_command()}` to find their files",
            (p.name for p in unplaced),
        )
    py = snapshot.python
    doc: dict[str, Any] = {"lock-version": LOCK_VERSION, "created-by": "envsnap"}
    marker = _common.environment_marker(snapshot)
    if marker:
        doc["environments"] = [marker]
    if py.version:
        doc["requires-python"] = f"=={platforms.major_minor(py.version)}.*"
    packages = []
    skipped = []
    for pkg in sorted(py.packages, key=lambda p: p.name):
        if pkg.conda_layer and pkg.source.kind == "index" and pkg.artifact is None:
            skipped.append(pkg.name)  # installed by conda: the conda exports carry it
            continue
        packages.append(_package(pkg))
    doc["packages"] = packages
    tool: dict[str, Any] = {
        "lock-digest": snapshot.envsnap.content_digest,
        "python-version": py.version,
        "python-abi": py.abi,
        "platform-tag": py.platform_tag,
        "captured": snapshot.envsnap.created,
    }
    if skipped:
        tool["conda-managed"] = skipped
    doc["tool"] = {"envsnap": {k: v for k, v in tool.items() if v}}
    return doc


def named_only(snapshot: Snapshot) -> list[str]:
    """The index packages (``name==version``) known by a wheel's file name and sha256 alone, with no URL: pinned
    from a seed-wheel folder of the bundler's machine (its Python's ensurepip wheels, Debian's
    ``/usr/share/python-wheels``), whose file only the bundle holds."""
    return [f"{p.name}=={p.version}" for p in _common.named_only(snapshot)]


def named_only_message(named: list[str], how: str) -> str:
    """The one line refusing ``named`` (``named_only``), ending with ``how`` to export them instead."""
    return (
        f"pylock: {len(named)} package(s) are known by file name and sha256 only, with no URL (a seed wheel of the "
        "machine that pinned the lock, from its Python's ensurepip/_bundled or the distribution's "
        f"/usr/share/python-wheels): {', '.join(named[:8])}; {how}"
    )


def _package(pkg: PythonPackage) -> dict[str, Any]:
    src = pkg.source
    entry: dict[str, Any] = {"name": pkg.name}
    tool: dict[str, Any] = {}
    # PEP 751: no version for source trees, where it cannot be guaranteed to match the code.
    if src.kind in ("vcs", "directory"):
        tool["version"] = pkg.version
    else:
        entry["version"] = pkg.version
    if pkg.requires_python and _is_specifier_set(pkg.requires_python):
        entry["requires-python"] = pkg.requires_python
    elif pkg.requires_python:
        # An old setuptools' ">=3.6.*" is no PEP 440 specifier set, which pylock's field must be (the whole export
        # was refused): kept where only envsnap reads it.
        tool["requires-python"] = pkg.requires_python
    if src.kind == "vcs":
        vcs: dict[str, Any] = {"type": src.vcs or "git", **_repository(pkg.name, src.url)}
        if src.requested_revision:
            vcs["requested-revision"] = src.requested_revision
        if not src.commit_id:
            raise ExportError(f"pylock: {pkg.name}: VCS install without a commit id cannot be locked")
        vcs["commit-id"] = src.commit_id
        if src.subdirectory:
            vcs["subdirectory"] = src.subdirectory
        entry["vcs"] = vcs
    elif src.kind == "directory":
        directory: dict[str, Any] = {"path": _local_path(pkg.name, src.url)}
        if src.editable:
            directory["editable"] = True
        if src.subdirectory:
            directory["subdirectory"] = src.subdirectory
        entry["directory"] = directory
    elif src.kind == "archive":
        hashes = _archive_hashes(pkg)
        archive: dict[str, Any] = {}
        if src.url.startswith("file:"):
            archive["path"] = _local_path(pkg.name, src.url)
        else:
            archive["url"] = src.url
        stamp = _common.parse_time(pkg.artifact.upload_time) if pkg.artifact is not None else None
        if stamp is not None:
            archive["upload-time"] = stamp
        if pkg.artifact is not None and pkg.artifact.size:
            archive["size"] = pkg.artifact.size
        archive["hashes"] = hashes
        if src.subdirectory:
            archive["subdirectory"] = src.subdirectory
        entry["archive"] = archive
    else:
        entry.update(_distribution(pkg))
    tool.update(_package_tool(pkg))
    if tool:
        entry["tool"] = {"envsnap": tool}
    return entry


def _repository(name: str, url: str) -> dict[str, str]:
    """Where a VCS package's repository is, as PEP 751 says it: ``url``, or for the project's own repository (or one
    inside it: ``file://{project}``, a label no installer reads) ``path``, relative to the file, which the export's
    note says to keep at the project root (``uv pip sync`` cloned a folder named ``{project}`` and failed). One in
    the home (``file://~/lib``) has no form a reader expands: exit 2, naming ``--absolute-paths``."""
    if _common.in_project(url):
        return {"path": fileurls.file_url_path(url)}
    _refuse_home(name, url, "its repository")
    return {"url": url}


def _local_path(name: str, url: str) -> str:
    """A local project's or file's ``path``: relative to the file for one in the project (``file://{project}``),
    absolute for one outside. One in the home (``file://~/lib``) is refused, naming ``--absolute-paths``: PEP 751
    reads ``~/lib`` relative to the file, a folder named ``~`` beside it."""
    _refuse_home(name, url, "it")
    return fileurls.file_url_path(url)


def _refuse_home(name: str, url: str, what: str) -> None:
    if url.startswith(f"file://{fileurls.HOME}"):
        raise ExportError(
            f"pylock: {name}: {what} is recorded under the home directory ({sinks.place_shown(url)}), which no "
            "reader of pylock.toml expands; export with --absolute-paths"
        )


def _is_specifier_set(text: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def _archive_hashes(pkg: PythonPackage) -> dict[str, str]:
    algo, value = pkg.source.archive_digest
    if value:
        return {algo: value}
    if pkg.artifact is not None and pkg.artifact.sha256:
        return {"sha256": pkg.artifact.sha256}
    raise ExportError(f"pylock: {pkg.name}: archive install without a hash; run `{pin_command()}` first")


def _listed(pkg: PythonPackage) -> dict[str, Any]:
    """Every file an imported pylock allowed for ``pkg`` (``listed_files``), its wheels and its sdist as they were, and
    its index where they share one: the installer picks the file for its target, as from the file imported."""
    out: dict[str, Any] = {}
    indexes = {c.index for c in pkg.candidates}
    if len(indexes) == 1 and "" not in indexes:
        out["index"] = indexes.pop()
    wheels, sdists = [], []
    for c in pkg.candidates:
        file = _file_entry(c.filename, c.url, c.upload_time, c.size, c.sha256)
        if c.filename.endswith(".whl"):
            wheels.append(file)
        elif c.filename.endswith(_SDIST_SUFFIXES):
            sdists.append(file)
        else:
            raise ExportError(f"pylock: {pkg.name}: file {c.filename!r} is neither a wheel nor an sdist")
    if len(sdists) > 1:
        raise ExportError(f"pylock: {pkg.name}: {len(sdists)} sdists, where pylock holds one")
    if wheels:
        out["wheels"] = wheels
    if sdists:
        out["sdist"] = sdists[0]
    return out


def _file_entry(filename: str, url: str, upload_time: str, size: int, sha256: str) -> dict[str, Any]:
    """A pylock file table (a wheel or the sdist): its name, its ``path`` (a ``file:`` URL) or ``url``, upload time,
    size and sha256."""
    file: dict[str, Any] = {"name": filename}
    if url.startswith("file:"):
        file["path"] = fileurls.file_url_path(url)
    else:
        file["url"] = url
    stamp = _common.parse_time(upload_time)
    if stamp is not None:
        file["upload-time"] = stamp
    if size:
        file["size"] = size
    file["hashes"] = {"sha256": sha256}
    return file


def _distribution(pkg: PythonPackage) -> dict[str, Any]:
    art = pkg.artifact
    if art is None and listed_files(pkg):
        return _listed(pkg)
    assert art is not None  # require_pinned() has checked
    out: dict[str, Any] = {}
    if art.index and not _common.is_find_links(art.index, art.url):  # pylock's index is a PEP 503 index URL
        out["index"] = art.index
    # A file the lock knows in a find-links folder: that folder's URL of it.
    file = _file_entry(art.filename, _common.file_url(art), art.upload_time, art.size, art.sha256)
    if art.filename.endswith(".whl"):
        out["wheels"] = [file]
    elif art.filename.endswith(_SDIST_SUFFIXES):
        out["sdist"] = file
    else:
        raise ExportError(f"pylock: {pkg.name}: artifact {art.filename!r} is neither a wheel nor an sdist")
    return out


def _package_tool(pkg: PythonPackage) -> dict[str, Any]:
    tool: dict[str, Any] = {}
    if pkg.metadata_name:
        tool["metadata-name"] = pkg.metadata_name
    if pkg.requested:
        tool["requested"] = True
    if pkg.installer:
        tool["installer"] = pkg.installer
    if pkg.artifact is not None and pkg.artifact.rebuilt:
        tool["rebuilt"] = True
    if pkg.artifact is not None and pkg.artifact.index and _common.is_find_links(pkg.artifact.index, pkg.artifact.url):
        tool["find-links"] = pkg.artifact.index  # not an index URL: kept where only envsnap reads it
    if pkg.conda_managed:
        tool["conda-managed"] = True
    return tool


def validate(document: dict[str, Any]) -> None:
    """Check the document with packaging's own PEP 751 model when it is available (packaging >= 26)."""
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:  # older packaging: the golden tests still check the output
        return
    try:
        Pylock.from_dict(document)
    except PylockValidationError as exc:
        raise ExportError(f"pylock: the lock does not make a valid pylock.toml: {exc}") from exc


class PylockExporter(Exporter):
    name = "pylock"
    description = "PEP 751 pylock.toml of the Python layer (install with uv pip sync)"
    filename = "pylock.toml"
    signature = b'created-by = "envsnap"'
    needs_artifacts = True
    needs_files = True
    takes_listed_files = True

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)


EXPORTER = PylockExporter()
