"""Read a ``conda-lock.yml`` (conda-lock's unified lock, version 1) into a lock for one platform.

conda packages become conda records; pip packages become Python packages whose artifact is the locked
URL and sha256. A multi-platform file needs ``--platform`` unless it locks a single platform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .. import _readlimits
from .._defaults import install_hint
from ..errors import NotInstalledError
from ..grammar import is_conda_subdir, shown
from ..model import CondaPackage, PythonPackage, Snapshot
from . import _conda
from .interface import Importer, ImportOptions, LockImportError


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
        if str(own) != platform or entry.get("optional"):
            continue
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
    return _conda.snapshot(
        origin="conda-lock",
        file=origin,
        subdir=platform,
        # By name, as capture lists them: each entry's dependencies say the order conda links them in.
        packages=sorted(conda, key=lambda p: (p.name, p.subdir)),
        python_packages=pip,
        python_known=True,
        warnings=[],
    )


def _pip(entry: Mapping[str, Any], hashes: Mapping[str, Any], where: str) -> PythonPackage:
    name, version = _required(entry, "name", where), _required(entry, "version", where)
    url, sha256 = str(entry.get("url", "")), str(hashes.get("sha256", ""))
    # A direct reference conda-lock's pip solver took verbatim (``source: {type: url}``): a git dependency (its
    # ``url`` is ``git+URL@COMMIT`` and its ``sha256`` that commit, not a file's digest) or a local folder (a
    # ``file://`` URL, no hash). Read as an index package, pin fetched the name from the index (docs/security.md).
    source = _mapping(entry.get("source"), f"{where}: source")
    if source or url.startswith(_conda.VCS_PREFIXES):
        return _conda.pip_direct(name, version, url, sha256, where)
    return _conda.pip_package(name, version, url, sha256)


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
