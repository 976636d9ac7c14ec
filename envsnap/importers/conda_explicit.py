"""Read a conda explicit file (``conda list --explicit --md5``, ``conda-lock render --kind explicit``).

Lines after ``@EXPLICIT`` are package URLs with an optional ``#md5`` or ``#sha256:...`` fragment; the
``# platform:`` comment gives the subdir. conda writes no pip-installed packages into such files, so the Python
packages are marked unknown, unless the file lists them as conda-lock renders them (``# pip NAME @ URL#sha256=HEX``)
and names no other: envsnap's export names a pip package without a file URL and sha256 in a plain comment of its
header (``# Not installable from this file: ...``), and a file with such a comment lists part of the pip layer.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ..grammar import shown
from ..model import CondaPackage, PythonPackage, Snapshot
from . import _conda
from .interface import Importer, ImportOptions, LockImportError, check_lock_url, sdist_release


def sniff(name: str, text: str) -> bool:
    return bool(re.search(r"^@EXPLICIT\s*$", text, re.MULTILINE))


def read(text: str, origin: str, options: ImportOptions) -> Snapshot:
    subdir = options.platform
    packages: list[CondaPackage] = []
    python_packages: list[PythonPackage] = []
    unlisted: list[str] = []  # the pip packages envsnap's header names only in a comment
    explicit = in_unlisted = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not explicit and raw.startswith(_UNLISTED):
            in_unlisted = True
            continue
        if in_unlisted and raw.startswith("#   "):
            unlisted.append(_unlisted_requirement(raw[len("#   ") :]))
            continue
        in_unlisted = False
        if line.startswith("# platform:"):
            declared = line.split(":", 1)[1].strip()
            if subdir and declared != subdir:
                raise LockImportError(f"{origin}:{number}: the file is for {declared}, not --platform {subdir}")
            subdir = declared
        if explicit and line.startswith("# pip "):  # conda-lock's pip line, which conda-lock and micromamba install
            python_packages.append(_pip_line(line[len("# pip ") :], f"{origin}:{number}"))
            continue
        if not line or line.startswith("#"):
            continue
        if line == "@EXPLICIT":
            explicit = True
            continue
        if not explicit:
            raise LockImportError(f"{origin}:{number}: package line before @EXPLICIT")
        url, _, fragment = line.partition("#")
        md5 = sha256 = ""
        if fragment.startswith("sha256:"):
            sha256 = fragment[len("sha256:") :]
        elif re.fullmatch(r"[0-9a-f]{32}", fragment):
            md5 = fragment
        elif fragment:
            raise LockImportError(f"{origin}:{number}: unrecognised hash {shown(fragment, 200)}")
        packages.append(_conda.package_from_url(url, md5=md5, sha256=sha256, where=f"{origin}:{number}"))
    if not explicit:
        raise LockImportError(f"{origin}: not a conda explicit file (no @EXPLICIT line)")
    if not subdir:
        subdir = next((p.subdir for p in packages if p.subdir != "noarch"), "")
    warnings = []
    if unlisted:
        warnings.append(
            f"import: {len(unlisted)} pip package(s) the file names only in a comment, not as a '# pip' line, are "
            f"not in the lock: {_first(unlisted)}; its Python packages are marked unknown"
        )
    return _conda.snapshot(
        origin="conda-explicit",
        file=origin,
        subdir=subdir,
        packages=packages,
        python_packages=python_packages,
        # conda writes no pip line: only a file with some (conda-lock's) says what pip installed, and only one that
        # names no other pip package (envsnap's header comment) says all of it.
        python_known=bool(python_packages) and not unlisted,
        warnings=warnings,
    )


# The header comment of envsnap's conda-explicit export that names, one ``#   REQUIREMENT (why)`` line each, the
# pip packages it could not write as ``# pip`` lines (templates/conda/explicit.txt.j2).
_UNLISTED = "# Not installable from this file: "


def _first(names: list[str], many: int = 20) -> str:
    """The first ``many`` names, and how many more (the warning stays a line of a lock, however long the file)."""
    more = f" and {len(names) - many} more" if len(names) > many else ""
    return ", ".join(names[:many]) + more


def _unlisted_requirement(text: str) -> str:
    """``attrs==23.2.0 (the lock has no file URL ...)`` -> ``attrs==23.2.0``, as the warning names it."""
    requirement, sep, _why = text.rstrip().rpartition(" (")
    requirement = requirement.strip() if sep else text.strip()
    # A stranger's file may hold anything there: a warning is one line, and a lock refuses a control character.
    return requirement if requirement.isprintable() and len(requirement) <= 200 else shown(requirement)


def _pip_line(text: str, where: str) -> PythonPackage:
    """``NAME @ URL#sha256=HEX``, as ``conda-lock render --kind explicit`` writes a pip package; the version is
    the one the file's name gives (a wheel's or an sdist's). ``NAME @ URL``, no hash: a direct reference."""
    match = re.fullmatch(r"(\S+) @ (\S+)#sha256=([0-9a-f]{64})", text.strip())
    direct = re.fullmatch(r"(\S+) @ (\S+)", text.strip())
    given = match or direct
    if given is not None:  # its URL, as a lock would record it, or the line is refused by its number
        check_lock_url(given.group(2).partition("#")[0], f"{where}: # pip line")
    if match is None and direct is not None and _direct_reference(direct.group(2)):
        # conda-lock renders a folder, a git commit or a local file it locked (``source: {type: url}``) by its URL
        # alone, no hash (``# pip mylib @ file:///srv/lab/mylib``, ``# pip x @ git+https://host/x.git@COMMIT``): a
        # file's version is its name's, a folder's or a commit's unknown (the line gives none).
        name, url = direct.groups()
        version = _file_version(name, url, where) if _conda.is_archive_url(url) else ""
        return _conda.pip_direct(name, version, url, "", f"{where}: # pip line")
    if match is None:
        raise LockImportError(f"{where}: # pip line: not NAME @ URL#sha256=HEX")
    name, url, sha256 = match.groups()
    return _conda.pip_package(name, _file_version(name, url, where), url, sha256)


def _file_version(name: str, url: str, where: str) -> str:
    """The version a wheel's or an sdist's file name gives, when it is ``name``'s file."""
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version

    filename = unquote(url.rsplit("/", 1)[-1])
    try:
        if filename.endswith(".whl"):
            found, version, _build, _tags = parse_wheel_filename(filename)
        elif release := sdist_release(filename, name):  # foo-1.0-1.tar.gz is foo's, version 1.0-1
            found, version = canonicalize_name(release[0]), Version(release[1])
        else:
            raise ValueError(filename)
    except ValueError:  # packaging's refusal, or a version number past int()'s 4,300 digits
        raise LockImportError(f"{where}: # pip line: no version in the file name {shown(filename)}") from None
    if found != canonicalize_name(name):
        raise LockImportError(f"{where}: # pip line: the file is {found}'s, not {shown(name)}'s")
    return str(version)


def _direct_reference(url: str) -> bool:
    """A URL conda-lock renders without a hash: a VCS one, a local folder, or a file by URL (a wheel or an sdist)."""
    return url.startswith(_conda.VCS_PREFIXES) or url.startswith("file:") or _conda.is_archive_url(url)


class CondaExplicitImporter(Importer):
    name = "conda-explicit"
    description = "conda explicit file (@EXPLICIT, one package URL#md5 a line)"
    examples = ("conda-linux-64.lock", "explicit.txt")

    def sniff(self, name: str, text: str) -> bool:
        return sniff(name, text)

    def read(self, text: str, origin: str, options: ImportOptions) -> Snapshot:
        return read(text, origin, options)


IMPORTER = CondaExplicitImporter()
