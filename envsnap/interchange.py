"""Conventions the exporters and the importers share (the files one writes, the other reads back).

Core, so that neither family imports the other: the default package index a lock's artifacts are assumed to
come from, how an artifact's ``index`` that is a ``--find-links`` location is told from a package index (the
exporters write it as ``--find-links``, the requirements importer records one, ``pin`` reads it as a folder or a
page of links), and upload times as the interchange formats spell them (ISO 8601, UTC, ``Z``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from .fileurls import HOME, PROJECT

if TYPE_CHECKING:  # diff's fast path reads this module without loading the model
    from .model import Artifact, PythonPackage, Snapshot

PYPI_SIMPLE = "https://pypi.org/simple"
# What ``pip freeze`` leaves out without ``--all``: pip, and before Python 3.12 setuptools, wheel and distribute (the
# tools that install the rest, which a venv seeds); uv's and pip-compile's requirements and pylock files leave them
# out too, unless the project depends on them. The import of a requirements or pylock file that does not name pip
# (``pip freeze --all`` and envsnap's export of a capture name it) lists SEED_FIELD in ``envsnap.unknown``: each of
# these the lock does not list is unknown to it, so ``verify`` of the environment the file was frozen from (or
# installed into, ``python -m venv`` seeding them) finds none of them extra; one it lists is compared.
SEED_PACKAGES = frozenset({"distribute", "pip", "setuptools", "wheel"})
SEED_FIELD = "python.seed_packages"
# A lock that does not know its whole pip layer (``python.packages`` in ``envsnap.unknown``: imported from a conda
# explicit file) says so in the conda-lock.yml envsnap exports of it, in ``metadata.custom_metadata`` (where conda-lock
# keeps what its user adds with ``--metadata-yaml``), and the import of that file marks the layer unknown again.
CONDA_LOCK_PIP_LAYER = ("envsnap.pip_layer", "incomplete")
_LABELLED = ("file://" + PROJECT, "file://" + HOME)


def seeds_left_out(names: Iterable[str]) -> tuple[str, ...]:
    """What the import of a file listing the packages ``names`` adds to ``envsnap.unknown``: SEED_FIELD where it does
    not name pip (a file naming pip, ``pip freeze --all``, names them all)."""
    return () if "pip" in names else (SEED_FIELD,)


def seed_unknown(unknown: Iterable[str], name: str) -> bool:
    """Whether a lock (its ``envsnap.unknown``) cannot know that the package ``name`` is absent: one of pip's
    ``SEED_PACKAGES`` its format leaves out where it does not name it."""
    return name in SEED_PACKAGES and SEED_FIELD in unknown


def venv_seeds_not_locked(lock: Snapshot) -> list[str]:
    """What ``python3.X -m venv`` puts in a new environment (ensurepip: pip, and setuptools before Python 3.12) that
    the lock does not hold, an environment made without them (uv's venv, ``--without-pip``): the bundle's README,
    REPRODUCING.md and the appendix take them out again after their pip install (the way without envsnap), or ``verify``
    of the result finds them installed, not in the lock, and says DIFFERENT.
    [] where the lock cannot know them absent (an import that leaves pip out) or records no Python version."""
    from .platforms import numbers

    minor = numbers(lock.python.version)[:2]  # the release line, as platforms.major_minor reads it
    if len(minor) < 2:
        return []
    seeded = ["pip", "setuptools"] if minor < (3, 12) else ["pip"]
    return [name for name in seeded if lock.package(name) is None and not seed_unknown(lock.envsnap.unknown, name)]


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 upload time (``Z`` or an offset) as an aware UTC datetime; None when absent/unreadable."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


def format_time(stamp: datetime) -> str:
    """``2024-05-01T12:00:00Z``: an aware datetime in UTC, as pylock and the lock write upload times."""
    return stamp.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def is_find_links(location: str, url: str = "") -> bool:
    """Whether an artifact's recorded ``index`` is a ``--find-links`` location rather than a package index.

    ``envsnap pin`` records either as the artifact's ``index``; a local path, an HTML page of links, or a
    ``file://`` folder holding the file (``url``) itself is not a PEP 503 index (whose root lists projects),
    so ``--index-url`` and pylock's ``index`` must not be given one. A folder in the project or the home by its
    label with no ``url`` (``file://{project}/wheels``) is one an import found the file in by its hash: an import
    records an index URL as it is written, never under a label.
    """
    if "://" not in location or urlsplit(location).path.lower().endswith((".html", ".htm")):
        return True
    if not url and location.startswith(_LABELLED):
        return True
    return location.startswith("file:") and url.rsplit("/", 1)[0] == location.rstrip("/")


def file_in_folder(filename: str, location: str) -> str:
    """The ``file:`` URL of the file ``filename`` in the local ``--find-links`` folder ``location`` as a lock records
    one (its path, or a folder in the project or the home under its label: ``file://{project}/wheels``), as
    ``envsnap pin`` records a file it found there; "" where ``location`` is no local folder (an index, a page of
    links) or ``filename`` no plain file name. An import records a file of a find-links folder by its name and that
    folder, not by this machine's path of it (docs/lockfile.md): its readers find it there by this URL."""
    if not filename or "/" in filename or filename in (".", "..") or not location:
        return ""
    if location.startswith(_LABELLED):
        return f"{location.rstrip('/')}/{quote(filename)}"
    if "://" in location or not location.startswith("/") or location.lower().endswith((".html", ".htm")):
        return ""
    return (PurePosixPath(location) / filename).as_uri()


def file_url(art: Artifact) -> str:
    """Where ``art``'s file is: its URL, or for a file an import records by its name in a local find-links folder
    (``file_in_folder``), that folder's file; "" where the lock knows neither."""
    return art.url or file_in_folder(art.filename, art.index)


def file_places(pkg: PythonPackage) -> list[tuple[str, str]]:
    """Where ``pkg``'s file is found, as (index or find-links location, file URL) pairs: its pinned artifact's, or
    each of the files an import kept that a pin by name and version with all their hashes installs
    (``candidate_hashes``). The exporters write these locations, and verify's remedy names them: one rule, so
    the remedy for an imported ``torch==2.4.0+cu121`` known by its hashes names the index they are on, as the
    requirements export does."""
    if pkg.artifact is not None:
        return [(pkg.artifact.index, pkg.artifact.url)]
    return [(c.index, c.url) for c in pkg.candidates] if candidate_hashes(pkg) else []


def candidate_hashes(pkg: PythonPackage) -> tuple[str, ...]:
    """The sha256 of every file an import kept for an index package with no one file chosen (its ``candidates``: a
    hashed requirement's several ``--hash`` values, as ``pip-compile --generate-hashes`` writes one per file of the
    release), where ``name==version`` with each of them as a ``--hash`` is what the file said: each has a sha256 and
    is found on an index or find-links location, not by its URL alone. Empty otherwise (``envsnap pin`` picks one)."""
    if pkg.artifact is not None or pkg.source.kind != "index" or not pkg.candidates:
        return ()
    if any(not c.sha256 or (c.url and not c.index) for c in pkg.candidates):
        return ()
    return tuple(dict.fromkeys(c.sha256 for c in pkg.candidates))


def editable_folders(lock: Snapshot) -> list[str]:
    """The project's folders the lock installs editable (``pip install -e .``: ``file://{project}``), as paths from the
    project's root (``.``, ``./libs/x``): a rebuild installs their wheels, and a rerun of a run that had them editable
    finds the environment differs until they are installed so again (REPRODUCING.md's step, rerun's remedy). A path
    that climbs out of the project is left out (a lock's value never names a folder elsewhere)."""
    from .fileurls import file_url_path

    folders = []
    for pkg in lock.pip_layer():
        url = pkg.source.url
        if pkg.source.kind != "directory" or not pkg.source.editable:
            continue
        if url != f"file://{PROJECT}" and not url.startswith(f"file://{PROJECT}/"):
            continue
        path = file_url_path(url)
        if path == ".." or path.startswith(("../", "/")):
            continue
        folders.append(path if path == "." else f"./{path}")
    return sorted(set(folders))
