"""What the conda importers share: package records from URLs, and the lock around them."""

from __future__ import annotations

import re
from typing import cast
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from .. import fileurls, grammar
from ..grammar import shown
from ..model import (
    Artifact,
    Conda,
    CondaPackage,
    Meta,
    Noarch,
    Origin,
    PythonEnv,
    PythonPackage,
    Snapshot,
    Source,
    Vcs,
)
from ..platforms import with_article
from ..probes.conda import channel_of
from .interface import (
    HOST_UNKNOWN,
    PLATFORM_DETAILS,
    LockImportError,
    check_lock_url,
    is_sdist_name,
    platform_from_subdir,
    wheel_file_tags,
)

_SUFFIXES = (".conda", ".tar.bz2")


def package_from_url(url: str, *, md5: str = "", sha256: str = "", where: str) -> CondaPackage:
    """``https://host/<channel>/<subdir>/<name>-<version>-<build>.conda`` -> a conda package record. A URL the lock
    grammar refuses (``file://https://host/...``, whose host is ``https:``) is refused here, naming ``where``: the
    lock's check of its channel named no line of the file."""
    check_lock_url(url, where)
    base, _, filename = url.rpartition("/")
    stem = next((filename[: -len(s)] for s in _SUFFIXES if filename.endswith(s)), "")
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        raise LockImportError(f"{where}: not a conda package URL: {shown(url, 200)}")
    name, version, build = parts
    subdir = base.rpartition("/")[2]
    build_number = build.rsplit("_", 1)[-1]
    # Neither file says ``noarch``; py-rattler reads it from the same file as here: the noarch subdir holds only
    # noarch packages, python ones where the build says ``py`` (``pyhd8ed1ab_0``), generic ones otherwise.
    noarch: Noarch = ("python" if "py" in build else "generic") if subdir == "noarch" else ""
    return CondaPackage(
        name=name,
        version=version,
        build=build,
        build_number=int(build_number) if build_number.isdigit() else 0,
        # The channel as the conda probe records it (its base URL), so imported and captured locks agree.
        channel=channel_of(url, subdir, ""),
        subdir=subdir,
        url=url,
        md5=md5,
        sha256=sha256,
        noarch=noarch,
    )


def _one_platform(records: tuple[CondaPackage, ...], subdir: str, file: str) -> None:
    """Every package is one of ``subdir`` or a noarch one: conda installs a platform's packages on it only, and a
    lock's ``[conda] subdir`` is what ``check`` and ``rebuild --target conda`` judge the host by."""
    for pkg in records:
        if subdir and pkg.subdir not in (subdir, "noarch"):
            what = _plain(f"{pkg.name} {pkg.version} ({pkg.build})")
            raise LockImportError(
                f"{file}: {what} is {with_article(_plain(pkg.subdir))} package, not one for {_plain(subdir)} or "
                "noarch: conda installs a platform's packages on it only"
            )


def _plain(text: str) -> str:
    # Read from a stranger's file: shown as it is only where it is one short printable line.
    return text if text.isprintable() and len(text) <= 120 else shown(text)


def pip_package(name: str, version: str, url: str, sha256: str) -> PythonPackage:
    """A pip package of a conda lock file (``conda-lock.yml``'s ``manager: pip``, conda-lock's ``# pip`` line):
    its artifact is the locked URL and sha256, its wheel tags those the file's name gives, when it is this
    package's wheel (pip installed that file)."""
    artifact = None
    filename = unquote(url.rsplit("/", 1)[-1].split("#")[0])
    if url and sha256:
        artifact = Artifact(filename=filename, url=url.split("#")[0], sha256=sha256)
    return PythonPackage(
        name=canonicalize_name(name),
        version=version,
        installer="pip",
        artifact=artifact,
        wheel_tags=wheel_file_tags(filename, name, version),
    )


VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")


def is_archive_url(url: str) -> bool:
    """A URL whose path names a wheel or an sdist of any ending pip unpacks (a fragment or a query is not part of the
    name): a local ``x-1.0.tar.xz`` is that archive, not a folder."""
    name = urlsplit(url.partition("#")[0]).path.rsplit("/", 1)[-1]
    return name.endswith(".whl") or is_sdist_name(name)


def pip_direct(name: str, version: str, url: str, sha256: str, where: str) -> PythonPackage:
    """A pip package conda-lock locked as a direct reference (``source: {type: url}``), as pip records it: a
    ``git+URL@COMMIT`` is a VCS source at that commit (conda-lock writes the commit as its ``sha256``), a local
    ``file://`` folder a directory source, a wheel or an sdist by URL an archive source."""
    base, _, fragment = url.partition("#")
    parts = dict(part.split("=", 1) for part in fragment.split("&") if "=" in part)
    subdirectory = parts.get("subdirectory", "")
    if base.startswith(VCS_PREFIXES):
        vcs, _, rest = base.partition("+")
        repo, at, commit = rest.rpartition("@")
        if not at or not re.fullmatch(r"[0-9a-f]{7,64}", commit):
            raise LockImportError(f"{where}: {name}: VCS reference without a commit (url@COMMIT): {shown(url, 200)}")
        if fileurls.is_file_url(repo):
            # A repository on this machine, as pip records it (``git+file://localhost/repo`` is the same one).
            host = urlsplit(repo).netloc
            if host == "None":
                # conda-lock 4 writes ``git+file:///repo@COMMIT`` so (Python's spelling of the host it has none
                # for); git ignores it, but nothing says the host is this machine. It keeps ``localhost`` as written.
                again = f"{vcs}+{urlsplit(repo)._replace(netloc='localhost').geturl()}@{commit}"
                again += f"#{fragment}" if fragment else ""
                raise LockImportError(
                    f"{where}: {name}: conda-lock wrote its git+file:/// URL with the host None "
                    f"({shown(url, 200)}), a host envsnap does not read as this machine: write it as "
                    f"{shown(f'{name} @ {again}', 300)} in the pip: section and lock again (the same repository)"
                )
            if host not in ("", "localhost"):
                raise LockImportError(f"{where}: {name}: not a repository on this machine: {shown(url, 200)}")
            repo = fileurls.path_url(fileurls.decoded_path(repo))
        source = Source(kind="vcs", url=repo, vcs=cast(Vcs, vcs), commit_id=commit, subdirectory=subdirectory)
        return PythonPackage(name=canonicalize_name(name), version=version, installer="pip", source=source)
    if fileurls.is_file_url(base) and not is_archive_url(base):
        # conda-lock writes the folder's absolute path; another host (``file://None/x``, ``file://{project}/x``) is
        # not a folder on this machine.
        if urlsplit(base).netloc not in ("", "localhost"):
            raise LockImportError(f"{where}: {name}: not a folder on this machine: {shown(url, 200)}")
        path = fileurls.decoded_path(base)
        if not path.startswith("/"):  # ``file:mylib``: read as the project's folder, which conda-lock never writes
            raise LockImportError(f"{where}: {name}: not an absolute folder: {shown(url, 200)}")
        source = Source(kind="directory", url=fileurls.path_url(path), subdirectory=subdirectory)
        return PythonPackage(name=canonicalize_name(name), version=version, installer="pip", source=source)
    if not is_archive_url(base):
        raise LockImportError(f"{where}: {name}: a direct reference envsnap cannot record: {shown(url, 200)}")
    # A file by URL (``x @ https://host/x-1.0.whl#sha256=HEX``; a local one, ``x @ file:///w/x-1.0.whl``, with no
    # hash): an archive source, as pip records it, whatever index lists the name.
    sha256 = sha256 or parts.get("sha256", "")
    filename = unquote(urlsplit(base).path.rsplit("/", 1)[-1])
    source = Source(
        kind="archive", url=base, archive_hash=f"sha256={sha256}" if sha256 else "", subdirectory=subdirectory
    )
    # The file by its sha256, as pin records an archive's and the conda-lock export writes it back: without it, a
    # round trip of a pinned lock read "(not pinned)" (a file the name of which is no distribution's is left to pin).
    pinned = sha256 and grammar.is_sha256_hex(sha256) and grammar.is_distribution_filename(filename)
    return PythonPackage(
        name=canonicalize_name(name),
        version=version,
        installer="pip",
        source=source,
        wheel_tags=wheel_file_tags(filename, name, version),
        artifact=Artifact(filename=filename, url=base, sha256=sha256) if pinned else None,
    )


def snapshot(
    *,
    origin: Origin,
    file: str,
    subdir: str,
    packages: list[CondaPackage],
    python_packages: list[PythonPackage],
    python_known: bool,
    warnings: list[str],
) -> Snapshot:
    """The lock of a conda environment: the interpreter comes from the ``python`` record. ``packages`` keep the
    order given: an explicit file's is the order conda links them in, which no depends record (docs/design.md).
    ``file`` is the file read, as its errors name it."""
    records = tuple(packages)
    _one_platform(records, subdir, file)
    # Either file may leave a hash out (conda list --explicit without --md5): a rebuild cannot check that archive.
    unhashed = [p.name for p in records if not (p.md5 or p.sha256)]
    if unhashed:
        warnings = [f"import: conda packages without a hash: {', '.join(unhashed)}", *warnings]
    python = next((p for p in records if p.name == "python"), None)
    channels = tuple(dict.fromkeys(p.channel for p in sorted(records, key=lambda p: (p.name, p.subdir)) if p.channel))
    unknown = [*HOST_UNKNOWN, *PLATFORM_DETAILS]
    if not python_known:
        unknown.append("python.packages")  # pip-installed packages are not in the file
    meta = Meta(
        generator=f"envsnap import from {origin}",
        origin=origin,
        unknown=tuple(sorted(unknown)),
        warnings=tuple(warnings),
    )
    env = PythonEnv(
        implementation="cpython" if python is not None else "",
        version=python.version if python is not None else "",
        kind="conda",
        packages=tuple(sorted(python_packages, key=lambda p: p.name)),
    )
    return Snapshot(
        envsnap=meta,
        platform=platform_from_subdir(subdir),
        python=env,
        conda=Conda(subdir=subdir, channels=channels, packages=records),
    )
