"""The importer family: one module per foreign format beside this file, each exposing an ``Importer``
(``IMPORTER``) that ``importers/__init__.py`` lists in its ``REGISTRY``.

An importer is pure: ``read(text, origin, options)`` returns a Snapshot. The facts the format cannot carry
are listed in ``Meta.unknown`` (table names like ``"nvidia"`` or dotted fields like ``"platform.kernel"``):
their empty values then mean "not known", not "absent", so ``check`` does not report a GPU-less host.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable
from dataclasses import field
from typing import ClassVar

from .. import fileurls, grammar
from .._frozen import frozen
from .._privacy import PathRedactor
from ..errors import LockImportError
from ..model import Platform, Snapshot

__all__ = [
    "ImportOptions",
    "Importer",
    "LockImportError",
    "check_lock_url",
    "in_seed_folder",
    "local_url",
    "platform_from_subdir",
    "wheel_file_tags",
]


def check_lock_url(url: str, where: str) -> None:
    """Refuse, naming ``where`` (the file's line or entry), a URL the lock grammar refuses, with the rule it breaks
    as lock loading names it (``grammar.lock_url_refused``): the lock's own check named only the field of the lock
    made from it (``python.packages[1].source.url``), no line of the file."""
    if not grammar.is_lock_url(url):
        raise LockImportError(f"{where}: {grammar.lock_url_refused(url, 200)}")


@frozen
class ImportOptions:
    platform: str = ""  # a conda subdir (linux-64) to pick from a multi-platform lock
    # The folder of the lock the import writes: ``{project}`` outside any git work tree, as every reader of the lock
    # takes it there (``probes.project.project_root``); empty: the folder the file's relative paths are read from.
    lock_folder: str = ""
    # The git work tree around each folder this import asked about (``work_tree``): no option, not compared.
    work_trees: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)


class Importer(ABC):
    """One foreign format."""

    name: ClassVar[str]  # the --from value
    description: ClassVar[str]
    examples: ClassVar[tuple[str, ...]] = ()  # typical file names, for help texts

    @abstractmethod
    def sniff(self, name: str, text: str) -> bool:
        """Does the file ``name`` holding ``text`` look like this format (``--from auto``)? ``name`` is "" for
        standard input (``envsnap import -``): the content alone tells."""

    @abstractmethod
    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        """The lock this file describes; ``LockImportError`` naming ``origin`` when it cannot be read."""


# Tables no foreign format knows: the host and its GPU stack.
HOST_UNKNOWN = ("cuda", "environment", "frameworks", "hardware", "nvidia", "project", "system")
# What kind of environment a pip-level file (pylock.toml, requirements.txt) came from: neither says. Its import
# writes ``venv`` (what a rebuild of it makes), and lists the field as unknown: a capture from a system or conda
# interpreter, exported and imported back, read as "environment kind: system -> venv" in diff.
PIP_KIND = ("python.kind",)
PLATFORM_DETAILS = (
    "platform.kernel",
    "platform.libc",
    "platform.libc_version",
    "platform.os_id",
    "platform.os_name",
    "platform.os_version",
)

_SUBDIRS = {
    "linux-64": ("Linux", "x86_64"),
    "linux-aarch64": ("Linux", "aarch64"),
    "linux-ppc64le": ("Linux", "ppc64le"),
    "osx-64": ("Darwin", "x86_64"),
    "osx-arm64": ("Darwin", "arm64"),
    "win-64": ("Windows", "AMD64"),
}


def platform_from_subdir(subdir: str) -> Platform:
    system, machine = _SUBDIRS.get(subdir, ("", ""))
    return Platform(system=system, machine=machine)


def work_tree(folder: str, options: ImportOptions) -> str | None:
    """The root of the git work tree around ``folder`` (``gitstate.find_root``), None outside any: found once per
    folder and import, which records the file's local paths under it and whose name rules
    (``importers.without_credentials``) take it for the project (an import in a work tree asked git twice)."""
    from ..probes import gitstate

    key = os.path.abspath(folder)
    if key not in options.work_trees:
        options.work_trees[key] = gitstate.find_root(key)
    return options.work_trees[key]


def import_root(folder: str, options: ImportOptions) -> str:
    """The project an imported file's local paths are recorded under (``{project}``): the git work tree around
    ``folder``, else the folder of the lock being written (``options.lock_folder``: what pin, bundle, rebuild and
    export take for the project there), else ``folder`` itself."""
    return work_tree(folder, options) or options.lock_folder or folder


def in_seed_folder(url: str) -> bool:
    """Whether ``url`` is a file of a seed-wheel folder of this machine (``artifacts.pin.seed_wheel_dirs``: a
    distribution's ``/usr/share/python-wheels``, this Python's ``ensurepip/_bundled``), where envsnap's exports name
    a seed wheel the lock knows by file name and sha256 alone: compared as text, never opened; a build without
    pinning has none."""
    if not fileurls.is_file_url(url) or fileurls.is_labelled(url):
        return False
    try:
        from ..artifacts.pin import seed_wheel_dirs
    except ImportError:
        return False
    folder = os.path.dirname(fileurls.file_url_path(url))
    return any(folder in (d, os.path.realpath(d)) for d in seed_wheel_dirs())


def local_url(path: str, folder: str, root: str) -> tuple[str, str]:
    """A local path an imported file names, as the lock records it: its absolute path, and its URL. A relative
    ``path`` is read from ``folder`` (pip reads a requirement's from the working directory, PEP 751 a pylock's from
    the file's folder) and recorded as capture records a path (``PathRedactor.local``): under ``{project}`` where it
    lies in ``root``, the project (the git work tree around ``folder``), under ``~`` where it lies elsewhere in the
    home directory, else by its absolute path. An absolute path is recorded the same way (pip-compile writes
    ``./libs/x`` as ``x @ file:///home/me/proj/libs/x``: ``{project}/libs/x`` when the project is ``~/proj``, which a
    lock rebuilt from another checkout finds there; ``../wheels`` beside the project is ``~/wheels``: the lock names
    neither the user's home nor their name). A ``~`` is no home here: pip reads ``~/dist/x.whl`` and uv ``-e ~/lib``
    as the folder named ``~`` in the working directory, and PEP 751 a pylock's ``path = "~/x"`` from its folder (the
    import took them for the home's: ``{project}/~/dist/x.whl`` was recorded as ``file://~/dist/x.whl``)."""
    if "\x00" in path:
        # No system names a file by it: the path's resolution raised ValueError (a traceback, exit 1).
        raise LockImportError(f"a local path holding a NUL byte names no file: {grammar.shown(path)}")
    absolute = os.path.normpath(os.path.join(folder, path))
    return absolute, PathRedactor(project=root, users=(), hosts=()).local(absolute)


def wheel_file_tags(filename: str, name: str, version: str) -> tuple[str, ...]:
    """The tags of ``filename`` when it is a wheel of ``name`` ``version``, as a capture records them from the
    ``WHEEL`` file (one a tag: ``py2.py3-none-any`` is ``py2-none-any``, ``py3-none-any``); none otherwise (an
    sdist's name says nothing of the wheel pip built from it)."""
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version

    if not filename.endswith(".whl"):
        return ()
    try:
        found, found_version, _build, tags = parse_wheel_filename(filename)
        same = found == canonicalize_name(name) and found_version == Version(version)
    except ValueError:  # packaging's refusal, or a version number past int()'s 4,300 digits
        return ()
    return tuple(sorted({str(t) for t in tags})) if same else ()


# The source archives pip unpacks and builds from, by the ending of their file name (setuptools' older ones too),
# as the lock's grammar takes them.
SDIST_ENDINGS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")


def is_sdist_name(filename: str) -> bool:
    """Whether ``filename`` (a path's or URL's last part) ends as a source archive pip unpacks: a local
    ``x-1.0.tar.xz`` is that archive, not a folder of that name."""
    return filename.lower().endswith(SDIST_ENDINGS)


# The dashes of a source archive's name tried as the one between name and version: far more than any project's.
_SDIST_DASHES = 32


def sdist_release(filename: str, name: str) -> tuple[str, str] | None:
    """The project (normalised) and the version (as written) a source archive's file name gives, read as ``name``'s
    where it can be; None where it names no version. A dash may stand in the name and in the version
    (``python-dateutil-2.9.0.post0.tar.gz``; ``foo-1.0-1.tar.gz`` is foo 1.0-1, its post release, where packaging's
    ``parse_sdist_filename`` splits at the last dash, foo-1.0 1): each dash whose right side is a version is tried,
    the one that leaves ``name`` on its left wins, else the last (packaging's reading) names another project."""
    from packaging.utils import canonicalize_name, parse_sdist_filename

    ending = next((e for e in SDIST_ENDINGS if filename.lower().endswith(e)), "")
    if not ending:
        return None
    stem = filename[: -len(ending)]
    wanted = canonicalize_name(name)
    for dash in [i for i, c in enumerate(stem) if c == "-"][:_SDIST_DASHES]:
        head, version = stem[:dash], stem[dash + 1 :]
        if canonicalize_name(head) == wanted and _is_version(version):
            return wanted, version
    try:
        found, _version = parse_sdist_filename(f"{stem}.tar.gz")
    except ValueError:  # packaging's refusal, or a number past int()'s 4,300 digits
        return None
    return str(found), stem.rpartition("-")[2]


def file_name_version(name: str, url: str) -> str:
    """The version, as written, that the file name of ``url`` gives where it is a wheel or a source archive of
    ``name`` (``winonly-1.0-py3-none-any.whl``: ``1.0``; ``foo-1.0-1.tar.gz``: ``1.0-1``); "" otherwise (a forge's
    ``v1.0.tar.gz``, another project's file)."""
    from urllib.parse import unquote, urlsplit

    from packaging.utils import canonicalize_name, parse_wheel_filename

    filename = unquote(urlsplit(url.partition("#")[0]).path.rsplit("/", 1)[-1])
    if filename.endswith(".whl"):
        try:
            found = parse_wheel_filename(filename)[0]
        except ValueError:  # packaging's refusal, or a number past int()'s 4,300 digits
            return ""
        return filename.split("-")[1] if found == canonicalize_name(name) else ""
    release = sdist_release(filename, name)
    return release[1] if release is not None and release[0] == canonicalize_name(name) else ""


def _is_version(text: str) -> bool:
    from packaging.version import Version

    try:
        Version(text)
    except ValueError:  # InvalidVersion, or a number past int()'s 4,300 digits
        return False
    return True


def refuse_another_file(name: str, version: str, url: str, where: str, *, sdist: bool = True) -> None:
    """Refuse a package whose URL names a wheel (or, with ``sdist``, a source archive) of another project or release
    (a conda-lock.yml's ``typing-extensions 4.12.2`` locked to requests' wheel, ``six @ .../requests-2.0-...whl``,
    ``six @ .../requests-2.0.tar.gz``): pip refuses to install a wheel under another name, and fails on the metadata
    of an sdist it built, and the sha256 pins the other file. ``version`` "" is not compared. A file name packaging
    cannot read is left to the artifact's own check, as is GitLab's archive of a tag (``.../-/archive/v1.0/
    REPO-v1.0.tar.gz``), named after the repository, not the project."""
    from urllib.parse import unquote, urlsplit

    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version

    path = unquote(urlsplit(url.partition("#")[0]).path)
    filename = path.rsplit("/", 1)[-1]
    if not filename.endswith(".whl") and (not sdist or "/-/archive/" in path):
        return
    try:
        if filename.endswith(".whl"):
            found, found_version, _build, _tags = parse_wheel_filename(filename)
        elif release := sdist_release(filename, name):
            found, found_version = canonicalize_name(release[0]), Version(release[1])
        else:
            return
        locked = Version(version) if version else found_version
    except ValueError:  # packaging's refusal, or a number past int()'s 4,300 digits
        return
    if found != canonicalize_name(name):
        why = f"the file is {found}'s, not {canonicalize_name(name)}'s"
    elif found_version != locked:
        why = f"the file is of version {found_version}, not {_plain(version)}"
    else:
        return
    raise LockImportError(f"{where}: {_plain(name)}: {why} ({_plain(filename)})")


def _plain(text: str) -> str:
    # Read from a stranger's file: shown as it is only where it is one short printable line.
    return text if text.isprintable() and len(text) <= 120 else grammar.shown(text)


def packaging_refusal(exc: ValueError) -> str:
    """Why packaging refused a name or a version of a file: its own message, or, for a number of more than 4,300
    digits, which packaging converts with ``int()`` and lets Python refuse with a plain ``ValueError`` (whose
    message tells the reader to raise ``sys.set_int_max_str_digits``), what is wrong with the file."""
    if "integer string conversion" in str(exc):
        return "a version number of more than 4,300 digits"
    return str(exc)


def left_out_names(left_out: list[tuple[str, str]], kept: Container[str]) -> str:
    """The packages a marker left out, as a warning names them: by name, and with the version where the file has
    another entry of that name the import kept (uv writes one per version where the resolution forks on Python:
    ``iniconfig 2.1.0`` is left out, ``iniconfig`` 2.3.1 is in the lock)."""
    named = {f"{name} {version}" if name in kept and version else name for name, version in left_out}
    return ", ".join(sorted(named))


def judged_python(markers: Iterable[str], full_version: str, holds: Callable[[str, str], bool]) -> str:
    """The Python version a file's ``markers``, judged on an interpreter of ``full_version`` (``3.11.7``), picked
    packages for, as the lock records it. ``holds(marker, version)``: whether a marker holds on this host with Python
    ``version`` in place of its own. "" where no marker's answer changes with Python's version (none names it, or
    ``python_full_version >= '3.0'``: any 3.x gets the same packages); the minor release (``3.11``: uv's
    ``python_full_version < '3.12'``) where another minor release's answer differs; the full version where another
    patch release of this minor one gets another answer (``>= '3.11.4'``). A universal lock (uv's) lists one pick per
    Python: recorded as unknown, a rebuild with another Python installed this one's pick, and check said nothing."""
    import re

    from ..platforms import major_minor, numbers

    minor = major_minor(full_version)
    named = [m for m in markers if "python_version" in m or "python_full_version" in m]
    # The releases each side of every version a marker names (its minor releases, and its patch releases where it
    # is of this minor one): where a marker's answer changes, it changes at one of them.
    tried: set[str] = set()
    for marker in named:
        for literal in re.findall(r"[0-9]+(?:\.[0-9]+)*", marker):
            parts = [*numbers(literal), 0, 0]
            major, at = parts[0], parts[1]
            tried.update(f"{major}.{m}.0" for m in (at - 1, at, at + 1) if m >= 0)
            if f"{major}.{at}" == minor:
                tried.update(f"{major}.{at}.{p}" for p in (parts[2] - 1, parts[2], parts[2] + 1) if p >= 0)
    found = ""
    for version in sorted(tried):
        if any(holds(m, version) != holds(m, full_version) for m in named):
            if major_minor(version) == minor:
                return full_version
            found = minor
    return found
