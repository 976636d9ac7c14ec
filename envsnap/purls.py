"""Package URLs (purl) of the lock's packages: ``pkg:pypi``, ``pkg:conda``, ``pkg:deb``/``rpm``/``apk``.

One rule for every format that names packages by purl (the CycloneDX SBOM, the RO-Crate of an artifact bundle).
Built with ``packageurl-python`` (the purl reference library), which quotes every component."""

from __future__ import annotations

from typing import Any

from . import fileurls
from .interchange import PYPI_SIMPLE
from .model import CondaPackage, PythonPackage, Snapshot, Source, SystemPackage

_ANACONDA_ORG = ("https://conda.anaconda.org/", "http://conda.anaconda.org/")
_SYSTEM_TYPE = {"dpkg": "deb", "rpm": "rpm", "apk": "apk"}


def vcs_url(source: Source) -> str:
    """A pip-style direct reference URL: ``git+https://...@commit#subdirectory=...``."""
    url = source.url
    if source.vcs and not url.startswith(source.vcs + "+"):
        url = f"{source.vcs}+{url}"
    if source.commit_id:
        url += f"@{source.commit_id}"
    if source.subdirectory:
        url += f"#subdirectory={source.subdirectory}"
    return url


def pip_vcs_url(source: Source, *, argument: bool = False) -> str:
    """``vcs_url`` as a requirement line gives it to pip: a repository on this machine (``git+file:///repo``) as
    ``git+file://localhost/repo``, the same folder for git, uv and every pip, where pip before 24.1 (the one
    ``python -m venv`` seeds on Python 3.11 and 3.12) refuses a URL without a host ("Invalid requirement"); a capture
    records it as ``file:///repo`` again (``PathRedactor.url``). Its ``#subdirectory=`` is one pip reads as the lock's
    folder (``sinks.requirement_fragment``, ``UnsafeValue`` otherwise: ``a&b`` built the folder ``a``); ``argument``:
    the URL is a command line's word of its own, not a ``name @ URL`` requirement, and keeps a space in it. A URL with
    a query or a fragment of its own (a hand-made lock's: no capture records one) is refused: pip reads the revision
    from the URL's path alone, so ``git+https://host/r?ref=main@COMMIT`` named none, and pip installed the default
    branch, not the locked commit."""
    from . import grammar

    grammar.require("?" not in source.url and "#" not in source.url, "repository URL to pin a commit to", source.url)
    if source.subdirectory:
        from . import sinks

        sinks.requirement_fragment(source.subdirectory, argument=argument)
    url = vcs_url(source)
    scheme, sep, rest = url.partition("+file:///")
    if sep and "/" not in scheme and ":" not in scheme:
        return f"{scheme}+file://localhost/{rest}"
    return url


# The hash names pip reads from a URL's fragment (``#sha256=HEX``; ``pip._internal.models.link``): a file that matches
# such a hash is taken though it is not the one a ``--hash`` option names.
_URL_HASH_NAMES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


def without_url_hash(url: str) -> str:
    """``url`` without a hash its fragment holds (``#sha256=OTHER``; other parameters, ``egg=``, stay): beside the
    lock's ``--hash``, pip accepts a file matching either, so a hand-made lock's URL named a file the lock does not
    pin. The line's hash is the lock's alone (conda-explicit drops the URL's fragment whole)."""
    base, sep, fragment = url.partition("#")
    if not sep:
        return url
    kept = [part for part in fragment.split("&") if part.partition("=")[0].lower() not in _URL_HASH_NAMES]
    return f"{base}#{'&'.join(kept)}" if kept else base


def hashed_url(url: str, algo: str, value: str, folder: str = "") -> tuple[str, str]:
    """An archive's ``url`` as pip is to fetch and check it: the URL before its fragment, and the fragment (``""``
    where it has nothing): the lock's hash first (``algo=value``; pip checks a hash in the fragment), the URL's own
    parameters but a hash (``without_url_hash``) and a folder, then ``subdirectory=folder`` (a word the caller has
    checked for the place it goes). One spelling for a requirements file's command and verify's remedy."""
    base, _, own = without_url_hash(url).partition("#")
    parts = [f"{algo}={value}"] if value else []
    parts += [part for part in own.split("&") if part and part.partition("=")[0] != "subdirectory"]
    parts += [f"subdirectory={folder}"] if folder else []
    return base, ("#" + "&".join(parts)) if parts else ""


def channel_name(channel: str) -> str:
    """``conda-forge`` for ``https://conda.anaconda.org/conda-forge``; any other channel stays a URL."""
    for prefix in _ANACONDA_ORG:
        if channel.startswith(prefix) and "/" not in channel[len(prefix) :].strip("/"):
            return channel[len(prefix) :].strip("/")
    return channel.rstrip("/")


def _is_url(location: str) -> bool:
    """Whether an index location is a URL a purl's ``repository_url`` can hold: not a folder's path (an import's
    ``/opt/wheels``) nor a lock's label (``file://{project}/wheels``), which no other tool resolves."""
    return "://" in location and not fileurls.is_labelled(location)


def is_local(pkg: PythonPackage) -> bool:
    """Whether ``pkg`` was built from files on the author's machine (a local directory, archive or repository: a
    ``file:`` URL, ``file://{project}/...`` included), which no package index publishes."""
    src = pkg.source
    return src.kind in ("directory", "archive", "vcs") and src.url.startswith("file:")


def python(pkg: PythonPackage) -> Any | None:
    """The ``PackageURL`` of a Python distribution: its file name and non-default index for an index
    install, the VCS URL or download URL for a direct one. None for a local one (``is_local``): ``pkg:pypi/NAME``
    names the index's project of that name, another project, whose advisories a scanner would then report (as
    cyclonedx-py, envsnap gives such a package no package URL)."""
    from packageurl import PackageURL

    if is_local(pkg):
        return None
    qualifiers: dict[str, str] = {}
    src = pkg.source
    if src.kind == "vcs":
        qualifiers["vcs_url"] = vcs_url(src)
    elif src.kind == "archive":
        qualifiers["download_url"] = src.url
    art = pkg.artifact
    if art is not None and src.kind == "index":
        qualifiers["file_name"] = art.filename
        if _is_url(art.index) and art.index.rstrip("/") != PYPI_SIMPLE:
            qualifiers["repository_url"] = art.index
    return PackageURL(type="pypi", name=pkg.name, version=pkg.version or None, qualifiers=qualifiers or None)


def conda(pkg: CondaPackage) -> Any:
    """The ``PackageURL`` of a conda package (the purl spec's channel is a name, ``conda-forge``; a local channel
    the lock records by a label, ``file://~/conda-bld``, has none)."""
    from packageurl import PackageURL

    channel = channel_name(pkg.channel) if not fileurls.is_labelled(pkg.channel) else ""
    qualifiers = {"build": pkg.build, "channel": channel, "subdir": pkg.subdir}
    if pkg.url.endswith(".conda"):
        qualifiers["type"] = "conda"
    elif pkg.url.endswith(".tar.bz2"):
        qualifiers["type"] = "tar.bz2"
    return PackageURL(
        type="conda",
        name=pkg.name,
        version=pkg.version or None,
        qualifiers={k: v for k, v in qualifiers.items() if v} or None,
    )


def system(snapshot: Snapshot, pkg: SystemPackage) -> Any:
    """The ``PackageURL`` of a system package, with its distribution (``distro=debian-12``) and architecture."""
    from packageurl import PackageURL

    os_id = snapshot.platform.os_id or None
    qualifiers = {"arch": pkg.arch}
    if os_id and snapshot.platform.os_version:
        qualifiers["distro"] = f"{os_id}-{snapshot.platform.os_version}"
    return PackageURL(
        type=_SYSTEM_TYPE.get(pkg.manager, "generic"),
        namespace=os_id if pkg.manager != "apk" else "alpine",
        name=pkg.name,
        version=pkg.version or None,
        qualifiers={k: v for k, v in qualifiers.items() if v} or None,
    )
