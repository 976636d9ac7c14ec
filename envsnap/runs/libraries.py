"""Which package each loaded shared object belongs to, and whether the lock accounts for it.

A file belongs to a Python distribution when that distribution's ``RECORD`` lists it (the site-packages folder
it is in is read once), to the interpreter when it lies under a Python process's ``base_prefix`` outside
site-packages, to a system package when the package manager says it owns it. The lock accounts for it when it
records that distribution, interpreter or system package at the version found; anything else is named: a
cuDNN from ``/usr/local/cuda`` while the lock selected the pip wheel's, a ``.so`` from the home directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .._frozen import frozen
from .._privacy import PathRedactor
from ..model import Snapshot
from .record import Library

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..probes.hostlibs import PackageDatabase

_SITE_DIRS = ("site-packages", "dist-packages")
_MAX_RECORD = 16 << 20


@frozen
class Owner:
    kind: str  # python | conda | system | interpreter
    package: str
    version: str


def site_dir(path: str) -> str | None:
    """The site-packages (or dist-packages) folder ``path`` lies in, if any."""
    parts = Path(path).parts
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] in _SITE_DIRS:
            return str(Path(*parts[: i + 1]))
    return None


def _dist_of(folder: str) -> tuple[str, str] | None:
    from packaging.utils import canonicalize_name  # only where RECORD files are read

    stem = folder[: -len(".dist-info")]
    name, sep, version = stem.partition("-")
    return (canonicalize_name(name), version) if sep and name and version else None


class CondaIndex:
    """File -> (conda package, version) from ``<prefix>/conda-meta/*.json`` of the conda environments that
    loaded files lie in (each environment read once)."""

    def __init__(self) -> None:
        self._prefix_of: dict[str, str | None] = {}
        self._files: dict[str, tuple[str, str]] = {}
        self._read: set[str] = set()

    def prefix(self, path: str) -> str | None:
        folder = os.path.dirname(path)
        seen = []
        found: str | None = None
        while folder and folder != "/":
            if folder in self._prefix_of:
                found = self._prefix_of[folder]
                break
            seen.append(folder)
            if os.path.isdir(os.path.join(folder, "conda-meta")):
                found = folder
                break
            folder = os.path.dirname(folder)
        for f in seen:
            self._prefix_of[f] = found
        return found

    def _load(self, prefix: str) -> None:
        if prefix in self._read:
            return
        self._read.add(prefix)
        meta = os.path.join(prefix, "conda-meta")
        try:
            names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
        except OSError:
            return
        for name in names:
            try:
                with open(os.path.join(meta, name), encoding="utf-8") as fh:
                    data = json.loads(fh.read(_MAX_RECORD))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                continue
            owner = (data["name"], str(data.get("version", "")))
            for rel in data.get("files") or ():
                if isinstance(rel, str):
                    self._files.setdefault(os.path.realpath(os.path.join(prefix, rel)), owner)

    def owner(self, path: str) -> tuple[str, str] | None:
        prefix = self.prefix(path)
        if prefix is None:
            return None
        self._load(prefix)
        return self._files.get(os.path.realpath(path))


# The first field of each RECORD row (a CSV path, quoted when it holds a comma or a quote), found in one regex
# pass: the csv module's row objects were most of the time a run's end took in a large environment.
_RECORD_PATH = re.compile(r'^(?:"((?:[^"]|"")*)"|([^,\n"]*)),', re.MULTILINE)


class RecordIndex:
    """File -> (distribution, version) from the RECORD files of the site folders asked about (each read once).
    With ``cached``, what a site folder's RECORD files say is kept in the run cache (``runs.cache.site_key``:
    until a distribution there is installed, removed or reinstalled), read back as JSON in a tenth of the time."""

    def __init__(self, *, cached: bool = False) -> None:
        # site -> path relative to it (as RECORD writes it) -> distribution; shared objects also by real path.
        self._plain: dict[str, dict[str, tuple[str, str]]] = {}
        self._real: dict[str, tuple[str, str]] = {}
        self.cached = cached
        # Read before the first lookup, in this order (the target environment's site folders, when they were
        # not read ahead): a file found through its real path is then found as it would have been.
        self.first: list[str] = []

    def load(self, site: str) -> None:
        """Read the RECORD files of one site folder (once)."""
        if site in self._plain:
            return
        from . import cache

        name = cache.site_key(site) if self.cached and cache.enabled() else None
        found = _cached_rows(cache.get(name)) if name is not None else None
        if found is None:
            found = _read_records(site)
            if name is not None:
                dists = sorted(set(found[0].values()) | set(found[1].values()))
                number = {d: i for i, d in enumerate(dists)}
                cache.put(
                    name,
                    {
                        "dists": [list(d) for d in dists],
                        "rows": {rel: number[d] for rel, d in found[0].items()},
                        "real": {path: number[d] for path, d in found[1].items()},
                    },
                )
        rows, real = found
        self._plain[site] = rows
        for path, dist in real.items():
            self._real.setdefault(path, dist)

    def loaded(self) -> list[str]:
        """The site folders read so far."""
        return list(self._plain)

    def owner(self, path: str) -> tuple[str, str] | None:
        site = site_dir(path)
        if site is None:
            return None
        first, self.first = self.first, []
        for folder in first:
            self.load(folder)
        self.load(site)
        rel = os.path.relpath(os.path.normpath(path), site)
        return self._plain[site].get(rel) or self._real.get(os.path.realpath(path))


def package_owners(
    paths: Iterable[str],
    *,
    index: RecordIndex,
    conda: CondaIndex,
    database: PackageDatabase,
) -> dict[str, Owner | None]:
    """path -> the Python distribution, conda package or system package that owns it (None: none of them)."""
    out: dict[str, Owner | None] = {}
    rest = []
    for path in sorted(set(paths)):
        dist = index.owner(path)
        if dist is not None:
            out[path] = Owner("python", *dist)
            continue
        package = conda.owner(path)
        if package is not None:
            out[path] = Owner("conda", *package)
            continue
        rest.append(path)
    owners = database.owners(rest) if rest and database.manager else {}
    installed = {p.name: p.version for p in database.installed()} if owners else {}
    for path in rest:
        name = owners.get(path)
        out[path] = Owner("system", name, installed.get(name, "")) if name else None
    return out


def _read_records(site: str) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(path relative to ``site`` -> distribution, real path of a shared object -> distribution) from the RECORD
    files of the distributions in ``site`` (in name order: the first to list a file owns it)."""
    rows: dict[str, tuple[str, str]] = {}
    real: dict[str, tuple[str, str]] = {}
    try:
        folders = [e.name for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
    except OSError:
        return rows, real
    for folder in sorted(folders):
        dist = _dist_of(folder)
        if dist is None:
            continue
        try:
            with open(os.path.join(site, folder, "RECORD"), encoding="utf-8", errors="replace") as fh:
                text = fh.read(_MAX_RECORD)
        except OSError:
            continue
        for quoted, plain in _RECORD_PATH.findall(text):
            rel = quoted.replace('""', '"') if quoted else plain
            if not rel:
                continue
            rows.setdefault(rel, dist)
            if ".so" in rel or rel.endswith((".pyd", ".dylib")):  # a shared object (a few others: cheap)
                real.setdefault(os.path.realpath(os.path.join(site, rel)), dist)
    return rows, real


def _cached_rows(
    entry: object,
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]] | None:
    """What ``RecordIndex.load`` stored, or None when the entry is not of that shape."""
    if not isinstance(entry, dict):
        return None
    dists, rows, real = entry.get("dists"), entry.get("rows"), entry.get("real")
    if not (isinstance(dists, list) and isinstance(rows, dict) and isinstance(real, dict)):
        return None
    if not all(isinstance(d, list) and len(d) == 2 and all(isinstance(x, str) for x in d) for d in dists):
        return None
    table = [(d[0], d[1]) for d in dists]
    try:
        return {str(k): table[v] for k, v in rows.items()}, {str(k): table[v] for k, v in real.items()}
    except (IndexError, TypeError):
        return None


def classify(
    paths: Iterable[str],
    *,
    interpreters: Mapping[str, str] | None = None,
    database: PackageDatabase | None = None,
    index: RecordIndex | None = None,
    conda: CondaIndex | None = None,
    known: Mapping[str, Owner | None] | None = None,
) -> dict[str, Owner | None]:
    """path -> its owner (None: no package known here owns it). ``interpreters``: base prefix -> version of
    the Python processes that ran. ``known``: the package owners (``package_owners``) of paths already looked
    up, while the command ran; only the others are looked up now."""
    wanted = sorted(set(paths))
    known = known or {}
    out = {path: known[path] for path in wanted if path in known}
    rest = [path for path in wanted if path not in known]
    if rest:
        if database is None:
            from ..probes.hostlibs import PackageDatabase

            database = PackageDatabase()
        out.update(package_owners(rest, index=index or RecordIndex(), conda=conda or CondaIndex(), database=database))
    for path in wanted:
        if out[path] is not None:
            continue
        # Not a package's: the interpreter's when it lies under a Python's prefix (a pyenv or a source build;
        # a distribution's python under /usr is its system package's, and so is /usr/lib's libc).
        prefix = next(
            (
                p
                for p in (interpreters or {})
                if site_dir(path) is None and (path == p or path.startswith(p.rstrip("/") + "/"))
            ),
            None,
        )
        out[path] = Owner("interpreter", "python", (interpreters or {})[prefix]) if prefix is not None else None
    return dict(sorted(out.items()))


@frozen
class LockView:
    """What accounting for the loaded files reads of a lock: the version of each Python distribution and conda
    package, the Python version, the versions of each system package. Kept as JSON beside a lock validated
    before (``to_json``/``from_json``), so that a run whose environment is unchanged needs no lock model."""

    python: Mapping[str, str]
    conda: Mapping[str, str]
    python_version: str
    system: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, lock: Snapshot) -> LockView:
        system: dict[str, set[str]] = {}
        for sp in lock.system.packages:
            system.setdefault(sp.name, set()).add(sp.version)
        return cls(
            python={p.name: p.version for p in lock.python.packages},
            conda={p.name: p.version for p in lock.conda.packages} if lock.conda else {},
            python_version=lock.python.version,
            system={name: frozenset(versions) for name, versions in system.items()},
        )

    def to_json(self) -> dict[str, object]:
        return {
            "python": dict(self.python),
            "conda": dict(self.conda),
            "python_version": self.python_version,
            "system": {name: sorted(versions) for name, versions in self.system.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> LockView | None:
        """The view ``to_json`` wrote, or None when ``data`` is not of that shape."""
        if not isinstance(data, dict):
            return None
        python, conda, version, system = (data.get(k) for k in ("python", "conda", "python_version", "system"))
        if not (_str_map(python) and _str_map(conda) and isinstance(version, str) and isinstance(system, dict)):
            return None
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in system.values()):
            return None
        return cls(
            python=dict(python),  # type: ignore[arg-type]
            conda=dict(conda),  # type: ignore[arg-type]
            python_version=version,
            system={str(name): frozenset(v) for name, v in system.items()},
        )


def _str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def account(
    paths: Iterable[str], lock: Snapshot | LockView | None, redactor: PathRedactor, **kwargs: object
) -> tuple[Library, ...]:
    """A ``Library`` per loaded file: its owner and whether ``lock`` accounts for it."""
    owners = classify(paths, **kwargs)  # type: ignore[arg-type]
    view = LockView.of(lock) if lock is not None and not isinstance(lock, LockView) else lock
    python = dict(view.python) if view is not None else {}
    conda = dict(view.conda) if view is not None else {}
    locked_python = view.python_version if view is not None else ""
    system: Mapping[str, frozenset[str]] = view.system if view is not None else {}
    out = []
    for path, owner in sorted(owners.items()):
        shown = redactor.path(path)
        if owner is None:
            out.append(Library(path=shown, accounted=False, note="no package the lock records owns it"))
            continue
        if owner.kind == "python":
            locked = python.get(owner.package)
            ok = locked == owner.version
            note = (
                ""
                if ok
                else (
                    f"the lock has {owner.package} {locked}"
                    if locked is not None
                    else f"{owner.package} is not in the lock"
                )
            )
        elif owner.kind == "conda":
            locked = conda.get(owner.package)
            ok = locked == owner.version
            note = (
                ""
                if ok
                else (
                    f"the lock has conda package {owner.package} {locked}"
                    if locked is not None
                    else f"conda package {owner.package} is not in the lock"
                )
            )
        elif owner.kind == "interpreter":
            ok = bool(locked_python) and locked_python == owner.version
            note = "" if ok else f"the lock has Python {locked_python or '(none)'}"
        else:
            versions = system.get(owner.package)
            ok = versions is not None and (not owner.version or owner.version in versions)
            note = (
                ""
                if ok
                else (
                    f"the lock has {owner.package} {', '.join(sorted(versions))}"
                    if versions
                    else f"system package {owner.package} is not in the lock"
                )
            )
        out.append(
            Library(path=shown, accounted=ok, owner=owner.kind, package=owner.package, version=owner.version, note=note)
        )
    return tuple(out)


def distributions_of(
    module_files: Iterable[str], index: RecordIndex, known: dict[str, tuple[str, str] | None] | None = None
) -> list[str]:
    """``name version`` of each distribution the given module files belong to. ``known``: the distributions of
    files found before (``runs/owners.py``); each file looked up here is added to it."""
    known = {} if known is None else known
    for f in module_files:
        if f and f not in known:
            known[f] = index.owner(f)
    found = {known[f] for f in module_files if f}
    return sorted(f"{name} {version}" for name, version in (d for d in found if d is not None))
