"""What the conda exporters share: install order, channel names, conda MatchSpecs, pip requirement lines."""

from __future__ import annotations

from .. import fileurls, sinks
from ..artifacts.conda import dep_name as dep_name  # the exporters reach these through _conda
from ..artifacts.conda import install_order as install_order
from ..grammar import GrammarError, shown
from ..model import CondaPackage, PythonPackage, Snapshot
from . import _common
from .interface import ExportError


def require_conda(snapshot: Snapshot, fmt: str) -> tuple[CondaPackage, ...]:
    _common.require_conda_layer(snapshot, fmt)
    assert snapshot.conda is not None
    for pkg in snapshot.conda.packages:
        for url in (pkg.url, pkg.channel):
            if fileurls.is_labelled(url):
                raise ExportError(
                    f"{fmt}: {pkg.name} {pkg.version}: its archive is recorded as {sinks.place_shown(url[:200])}, "
                    "which is no URL outside envsnap (a folder of the project or the home); export with "
                    "--absolute-paths"
                )
    for url in snapshot.conda.channels:
        if fileurls.is_labelled(url):
            raise ExportError(
                f"{fmt}: the conda channel {sinks.place_shown(url[:200])} is a folder of the project or the home, "
                "which is no URL outside envsnap; export with --absolute-paths"
            )
    return snapshot.conda.packages


def pip_packages(snapshot: Snapshot) -> list[PythonPackage]:
    """The Python packages pip installed on top of the conda layer."""
    return sorted(
        snapshot.pip_layer(),
        key=lambda p: p.name,
    )


def pip_file(pkg: PythonPackage) -> tuple[str, str] | None:
    """The file pip installed ``pkg`` from, as its URL and sha256, where the lock knows both: an archive's URL with
    a sha256, an index package's pinned artifact. What conda-lock names a pip package by (``conda-lock.yml``'s
    ``url`` and ``hash``, an explicit file's ``# pip NAME @ URL#sha256=HEX`` line)."""
    if pkg.source.kind == "archive" and pkg.source.archive_digest[0] == "sha256":
        return pkg.source.url, pkg.source.archive_digest[1]
    if pkg.artifact is not None and pkg.artifact.sha256 and pkg.source.kind == "index":
        return _common.file_url(pkg.artifact), pkg.artifact.sha256
    return None


def labelled(url: str) -> bool:
    """A file recorded inside the project or the home (``file://{project}/wheels/x.whl``): a label only envsnap
    resolves, no URL for conda-lock or pip until ``--absolute-paths``."""
    return fileurls.is_file_url(url) and fileurls.decoded_path(url).startswith(fileurls.LABELS)


# Why a ``name @ URL`` line of the pip section cannot hold a folder with a space (``_common.url_subdirectory``).
_CONDA_HANDS_PIP = "conda hands pip its URL on a line of a requirements file, where a space ends it"


def pip_requirement(pkg: PythonPackage, fmt: str = "") -> tuple[str, str]:
    """One exact requirement and its ``--hash=algo:hex`` option (``""`` where the lock knows no file hash). ``fmt``:
    the format pip reads the line from, which refuses a path under the home (not a comment's)."""
    # Each part is checked for a requirements file (pip reads these lines as one): ``UnsafeValue`` otherwise.
    src = pkg.source
    if fmt and src.kind in ("directory", "archive"):
        _common.refuse_home_path(src.url, fmt, pkg.name)
    name = sinks.requirement_name(pkg.name)
    if src.kind == "vcs":
        if fmt and src.subdirectory:  # a comment's is refused as it is: the caller names the folder otherwise
            _common.url_subdirectory(pkg, fmt, _CONDA_HANDS_PIP)
        return f"{name} @ {sinks.requirement_url(_common.pip_vcs_url(src))}", ""
    if src.kind == "directory":
        # conda runs pip from the environment.yml's folder: a project's folder relative to the project root (./pkg)
        # holds there when the file is written to the root (the file says so); a bare word would be a name.
        path = _common.project_relative(src.url) or fileurls.file_url_path(src.url)
        if src.subdirectory:
            path = f"{path.rstrip('/')}/{src.subdirectory}"
        try:
            return sinks.requirement_folder(path, editable=src.editable), ""
        except GrammarError:
            if not fmt:  # a comment's: the caller names the folder otherwise
                raise
            raise ExportError(
                f"{fmt}: {pkg.name}: its folder {shown(path, 200)} is no line pip reads as written in a requirements "
                "file (a word after a space beginning with - or #, a ;, a space at an end, [...] at its end, which pip "
                "reads as extras, a control character); "
                "--format requirements names it in a shell-quoted pip command"
            ) from None
    if src.kind == "archive":
        algo, value = src.archive_digest
        local = _common.pip_project_path(src.url)
        req = local if local is not None else f"{name} @ {sinks.requirement_url(_common.without_url_hash(src.url))}"
        if src.subdirectory:  # the project's folder inside the archive: without it pip built the archive's root
            folder = _common.url_subdirectory(pkg, fmt, _CONDA_HANDS_PIP) if fmt else src.subdirectory
            req += f"#subdirectory={sinks.requirement_fragment(folder)}"
        return req, (sinks.requirement_hash(algo, value) if value else "")
    art = pkg.artifact
    hashed = sinks.requirement_hash("sha256", art.sha256) if art is not None and art.sha256 else ""
    if art is not None and _common.by_url_only(pkg):
        # No index or find-links folder serves it: the file itself, as the requirements export names it (a pin by
        # name and version was looked up on PyPI, which may not have that file, or has another under its name).
        return _common.by_location(pkg.name, art.url, fmt), hashed
    return f"{name}=={sinks.requirement_version(pkg.version)}", hashed


def pip_lines(snapshot: Snapshot, fmt: str = "") -> tuple[list[str], bool]:
    """Requirement lines for the pip layer, and whether they are hash-checked. pip checks hashes for all
    lines or for none, so hashes are given only when every package has one. ``fmt``: as for ``pip_requirement``."""
    pairs = [pip_requirement(p, fmt) for p in pip_packages(snapshot)]
    hashed = bool(pairs) and all(h for _req, h in pairs)
    return [f"{req} {h}" if hashed else req for req, h in pairs], hashed
