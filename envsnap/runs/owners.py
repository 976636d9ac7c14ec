"""The owner memo: which package owns each file a run loaded, kept for the next run of the same environment.

Finding the owners reads the package database's file lists (every list of dpkg's 800: 0.1-0.2 s of CPU) and
the ``RECORD`` files of the site folders the files lie in; a program run again loads the same files. So each
run keeps what it found, path by path (the Python distribution, conda package or system package owning each
shared object; the distribution of each module file), with the stamps of what the answers depended on, in
``probes/memo.py``'s store: the package databases (dpkg's status file and its folder of lists, apk's, rpm's),
each site folder a file lies in or whose RECORD files were read, each ``.dist-info`` folder in it and its
``RECORD``, the ``conda-meta`` folder and files of a conda-owned file's environment, and each file itself. A
run whose every file is in the memo, with none of those changed, reads no list and no ``RECORD``; a file not
in it is looked up as before, and the memo kept with it. Whether a conda environment lies above a file is
checked afresh every run (a ``conda-meta`` folder appearing above a file changes its owner), and so is the
interpreter (``libraries.classify``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping

from .libraries import CondaIndex, Owner, site_dir

KIND = "runowners"
FORMAT = 1
# What the package managers' answers are read from (probes/hostlibs.py): a package installed, removed or
# upgraded changes one of them or the folder's stamp.
PACKAGE_DATABASES = (
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/info",
    "/lib/apk/db/installed",
    "/var/lib/rpm",
    "/usr/lib/sysimage/rpm",
)


class OwnerMemo:
    """The owners kept by the last run (``objects``: path -> owner or None; ``modules``: module file ->
    distribution or None), and those found in this one, to be kept by ``save``."""

    def __init__(self, path: object = None, fact: str = "", kept: object = None) -> None:
        self.path = path
        self.fact = fact
        self.started_ns = time.time_ns()
        self.objects: dict[str, Owner | None] = {}
        self.modules: dict[str, tuple[str, str] | None] = {}
        self.sites: set[str] = set()  # the site folders whose RECORD files the answers were found in
        self.hit = False
        self.changed = False
        if isinstance(kept, dict):
            objects, modules, sites = _objects(kept.get("objects")), _modules(kept.get("modules")), kept.get("sites")
            if objects is not None and modules is not None and isinstance(sites, list):
                self.objects, self.modules, self.hit = objects, modules, True
                self.sites = {s for s in sites if isinstance(s, str)}

    def known_objects(self, paths: Iterable[str], conda: CondaIndex) -> dict[str, Owner | None]:
        """The kept owners of ``paths``: a file with no Python owner kept is looked up again when a conda
        environment now lies above it."""
        out: dict[str, Owner | None] = {}
        for path in paths:
            if path not in self.objects:
                continue
            owner = self.objects[path]
            if (owner is None or owner.kind == "system") and conda.prefix(path) is not None:
                continue
            out[path] = owner
        return out

    def known_modules(self, files: Iterable[str]) -> dict[str, tuple[str, str] | None]:
        return {f: self.modules[f] for f in files if f in self.modules}

    def learn(
        self,
        objects: Mapping[str, Owner | None],
        modules: Mapping[str, tuple[str, str] | None],
        sites: Iterable[str] = (),
    ) -> None:
        """What this run found, and ``sites``, the site folders whose RECORD files it read to find it (a file is
        also found through its real path in another folder's RECORD); only files in a site folder are kept
        among the modules (the others have no distribution without reading anything)."""
        for site in sites:
            if site not in self.sites:
                self.sites.add(site)
                self.changed = True
        for path, owner in objects.items():
            if path not in self.objects or self.objects[path] != owner:
                self.objects[path] = owner
                self.changed = True
        for path, dist in modules.items():
            if site_dir(path) is not None and (path not in self.modules or self.modules[path] != dist):
                self.modules[path] = dist
                self.changed = True

    def save(self) -> bool:
        """Keep the owners for the next run, when this one found any not kept (not when a stamp changed too
        recently to trust: ``memo.save_answer``)."""
        if not self.changed or self.path is None:
            return False
        from ..probes import memo

        answer = {
            "objects": {p: [o.kind, o.package, o.version] if o else None for p, o in sorted(self.objects.items())},
            "modules": {p: list(d) if d else None for p, d in sorted(self.modules.items())},
            "sites": sorted(self.sites),
        }
        return memo.save_answer(self.path, self.fact, self.watch(), self.started_ns, answer)  # type: ignore[arg-type]

    def watch(self) -> list[str]:
        """What the kept answers depend on (the module's docstring)."""
        paths: dict[str, None] = dict.fromkeys(PACKAGE_DATABASES)
        sites: dict[str, None] = dict.fromkeys(sorted(self.sites))
        for path in [*self.objects, *self.modules]:
            paths[path] = None
            site = site_dir(path)
            if site is not None:
                sites[site] = None
        for path, owner in self.objects.items():
            if owner is not None and owner.kind == "conda":
                prefix = CondaIndex().prefix(path)
                if prefix is not None:
                    meta = os.path.join(prefix, "conda-meta")
                    paths[meta] = None
                    paths.update(dict.fromkeys(_entries(meta)))
        for site in sites:
            paths[site] = None  # a distribution's folder added, removed or renamed in it
            for entry in _entries(site):
                # Each distribution's folder and RECORD (not the packages' folders or __pycache__: a program's
                # first run writing byte code there made the memo too recent to keep).
                if entry.endswith(".dist-info"):
                    paths[entry] = None
                    paths[os.path.join(entry, "RECORD")] = None
        return list(paths)


def _entries(folder: str) -> list[str]:
    try:
        return sorted(os.path.join(folder, name) for name in os.listdir(folder))
    except OSError:
        return []


def _objects(data: object) -> dict[str, Owner | None] | None:
    if not isinstance(data, dict):
        return None
    out: dict[str, Owner | None] = {}
    for path, owner in data.items():
        if owner is None:
            out[path] = None
        elif isinstance(owner, list) and len(owner) == 3 and all(isinstance(x, str) for x in owner):
            out[path] = Owner(*owner)
        else:
            return None
    return out


def _modules(data: object) -> dict[str, tuple[str, str] | None] | None:
    if not isinstance(data, dict):
        return None
    out: dict[str, tuple[str, str] | None] = {}
    for path, dist in data.items():
        if dist is None:
            out[path] = None
        elif isinstance(dist, list) and len(dist) == 2 and all(isinstance(x, str) for x in dist):
            out[path] = (dist[0], dist[1])
        else:
            return None
    return out


def load(identity: str, interpreter: str, use_cache: bool) -> OwnerMemo:
    """The owners kept for the environment ``identity`` (``TargetEnvironment.cache_identity``), when nothing they
    depended on changed; an empty memo otherwise (and with ``use_cache`` false, one that keeps nothing)."""
    if not use_cache:
        return OwnerMemo()
    from .._defaults import capture_cache_path
    from .._version import __version__
    from ..probes import memo

    path = capture_cache_path(KIND, identity, memo.SUFFIX)
    if path is None:
        return OwnerMemo()
    # envsnap's code and version, its interpreter, the machine (memo.facts); not the variables: no answer here
    # depends on them.
    fact = memo.facts([KIND, FORMAT, __version__, interpreter], {})
    return OwnerMemo(path, fact, memo.lookup_answer(path, fact))


def digest(memo: OwnerMemo) -> str:
    """A digest of what the memo holds (for tests and the bench's record of hits)."""
    blob = json.dumps([sorted((p, repr(o)) for p, o in memo.objects.items()), sorted(memo.modules.items())])
    return hashlib.sha256(blob.encode()).hexdigest()
