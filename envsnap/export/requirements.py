"""``requirements``: a hash-checked ``requirements.txt`` for ``pip install --require-hashes --no-deps -r``.

Every index package is pinned with ``==`` and the sha256 of its pinned artifact. Index options name the
indexes the artifacts came from, so a local version label (``torch==2.3.0+cu121``) still finds its wheel
on the index that serves it; a wheel found through a ``--find-links`` location is pinned by name and version
with that location as ``--find-links`` (so pip records it as an index install, as it was captured); an artifact
with no index is referenced by its URL. pip cannot hash-check VCS checkouts or local directories, so those are
listed as comments with the command that installs them; a project inside the project root is written relative to
it (``./pkg``: the working directory's, as pip reads it), with a comment saying so.
"""

from __future__ import annotations

import dataclasses
import posixpath
from urllib.parse import quote

from .. import fileurls, sinks
from ..model import PythonPackage, Snapshot
from . import _common
from .interface import Exporter, ExportError, pin_command, require_pinned, require_python_layer

_FILENAME = "requirements.txt"


def render(snapshot: Snapshot, file_name: str = _FILENAME) -> dict[str, bytes]:
    """The file, whose header's install command names ``file_name``: the base name it is written to."""
    return {_FILENAME: dumps(snapshot, file_name).encode("utf-8")}


def dumps(snapshot: Snapshot, file_name: str = _FILENAME) -> str:
    # Every value is checked for its place in the file: a newline in a version must add no option and no
    # requirement (pip reads each line of this file as one).
    with sinks.refusing(ExportError, "requirements"):
        return _dumps(snapshot, file_name)


def _dumps(snapshot: Snapshot, file_name: str) -> str:
    require_python_layer(snapshot, "requirements")
    # An import's several hashes of one release (pip-compile --generate-hashes) are written as it had them.
    require_pinned(snapshot, "requirements", hashes=True)
    pinned: list[PythonPackage] = []
    direct: list[PythonPackage] = []
    spaced: list[PythonPackage] = []  # archives built from a folder a requirement line cannot hold
    for pkg in sorted(snapshot.python.packages, key=lambda p: p.name):
        if pkg.source.kind in ("vcs", "directory"):
            direct.append(pkg)
        elif pkg.source.kind == "archive" and _common.spaced_folder(pkg.source.subdirectory):
            spaced.append(pkg)
        elif pkg.source.kind == "archive" or pkg.artifact is not None or _common.candidate_hashes(pkg):
            pinned.append(pkg)
    # A local project or file, or a find-links folder pin found in the project (file://{project}/wheels): relative
    # paths.
    relative = [p.source.url for p in direct + spaced + pinned if p.source.kind != "index"]
    relative += _common.find_links_locations(pinned)
    relative += [p.artifact.url for p in pinned if p.artifact is not None and _common.by_url_only(p)]
    from_root = any(_common.in_project(url) for url in relative)
    # Local paths, every one absolute (``--absolute-paths``, a bundle's wheels): the file installs from any folder.
    local = [url for url in relative if url.startswith(("file:", "/"))]
    absolute = bool(local) and not from_root and not any(fileurls.is_labelled(url) for url in local)
    lines = _header(
        snapshot, file_name, several_indexes=bool(_common.indexes(pinned)[1]), from_root=from_root, absolute=absolute
    )
    if from_root:
        lines.append(f"# {_common.RELATIVE_NOTE}")
    lines += _common.index_options(pinned)
    if pinned:
        lines.append("")
    for pkg in pinned:
        lines.append(_requirement(pkg))
    if direct:
        lines += ["", "# Not hash-checkable by pip (source trees); install each after the rest with:"]
        for pkg in direct:
            lines.append(f"#   pip install --no-deps {_direct_arguments(pkg)}")
            if pkg.source.kind == "vcs" and " " in pkg.source.subdirectory:
                lines.append(_PIP_ONLY)
            if pkg.source.kind == "vcs" and _label_folder(pkg.source.url):
                lines.append(_NO_HASH_SIGN)
            elif pkg.source.kind == "vcs" and _decoded_twice(pkg.source.url) and " " not in pkg.source.subdirectory:
                lines.append(f"#     (with uv: uv pip install --no-deps {_direct_arguments(pkg, uv=True)})")
    if spaced:
        lines += [
            "",
            "# Built from a folder with a space, which no requirement line names; install each after the rest with:",
        ]
        for pkg in spaced:
            lines += [f"#   pip install --no-deps {_archive_word(pkg)}", _ARCHIVE_PIP_ONLY]
    return "\n".join(lines) + "\n"


def _archive_word(pkg: PythonPackage) -> str:
    """An archive's URL as one shell word, which pip reads to its end: ``URL#sha256=HEX&subdirectory=my pkg``. No
    ``--hash`` option is given on a command line, so the lock's hash rides in the URL, which pip checks the file
    against; one in the project as ``"$PWD"``'s ``file:`` URL, as ``_folder_url_word`` names a folder."""
    src = pkg.source
    algo, value = src.archive_digest
    if not value and pkg.artifact is not None:
        algo, value = "sha256", pkg.artifact.sha256
    if not value:
        raise ExportError(f"requirements: {pkg.name}: archive install without a hash; run `{pin_command()}`")
    sinks.requirement_hash(algo, value)  # a name pip knows (it checks the same in a URL) and hex digits
    _common.refuse_home_path(src.url, "requirements", pkg.name)
    folder = sinks.requirement_fragment(src.subdirectory, argument=True)
    base, fragment = _common.hashed_url(src.url, algo, value, folder)
    path = _common.project_relative(base)
    if path is None:
        return sinks.shell_word(sinks.requirement_url(base) + fragment)
    return _folder_url_word(path) + sinks.shell_word(fragment)


# uv reads a ``#subdirectory=`` with a space as ``%20`` and finds no such folder (``_PIP_ONLY``).
_ARCHIVE_PIP_ONLY = (
    "#     (pip checks the file against the hash in its URL; pip only: uv reads the space in #subdirectory= as %20 "
    "and finds no such folder; with uv, unpack the archive and install that folder)"
)


# uv reads a ``#subdirectory=`` with a space as ``%20`` ("has no subdirectory `my%20pkg`") and never percent-decodes
# one, so no spelling of the URL names that folder to uv, where pip reads it to the word's end.
_PIP_ONLY = (
    "#     (pip only: uv reads the space in #subdirectory= as %20 and finds no such folder; with uv, install the "
    "folder from a checkout of that commit)"
)


# A folder the shell names (``$PWD``, ``$HOME``) is known only as the command runs, and no escape of a ``#`` in it
# holds for both installers: pip decodes a repository's URL before it looks for the fragment (``%23`` ends it) and
# hands git what is left, which git decodes again, so a ``%`` in it is read twice (from ``/tmp/50%41`` pip cloned
# ``/tmp/50A``), where uv and git read ``%23`` once. A folder or an archive is encoded as it runs (``_url_folder``).
_NO_HASH_SIGN = (
    "#     (a '#' or '%' in that folder's path ends pip's URL or names another folder: from such a folder, clone the "
    "repository to a path without one and install from there)"
)


def _header(
    snapshot: Snapshot, file_name: str, *, several_indexes: bool, from_root: bool, absolute: bool = False
) -> list[str]:
    """``several_indexes``: the file names an extra index, which uv asks only as ``_common.INDEX_STRATEGY`` says.
    ``from_root``: the file names paths from the project root, where its note says to install it. ``absolute``: every
    local path it names is absolute, so it installs from any folder, only ``-r`` naming the file from where it is."""
    py = snapshot.python
    where = " ".join(x for x in (_common.sys_platform(snapshot), snapshot.platform.machine) if x)
    flavour = " ".join(x for x in (py.implementation, py.abi) if x)
    # The file as written (``-o ci.txt``): a header naming requirements.txt sent the reader to another file.
    file_word = _shell_path(file_name)
    lines = [
        f"# Generated by envsnap from a lock with digest {snapshot.envsnap.content_digest or '(unsealed)'}",
        f"# Python {py.version or '(version unknown)'}{f' ({flavour})' if flavour else ''} on "
        f"{where or 'an unknown platform'}",
        # Named by its name alone, it installs from its own folder: ``-o px/req.txt`` run from px's parent wrote
        # ``-r req.txt`` under a line that said nothing of where (an absolute path or one from the root says itself).
        "# Install into a fresh environment with (every path in this file is absolute: from another folder than this "
        "file's, give its path to -r):"
        if "/" not in file_name and absolute
        else "# Install into a fresh environment, in the folder that holds this file, with:"
        if "/" not in file_name and not from_root
        else "# Install into a fresh environment with:",
        f"#   pip install --require-hashes --no-deps -r {file_word}",
    ]
    if several_indexes:
        lines += [
            "# or with uv, told to look on every index as pip does (by default it asks the first listing a package):",
            f"#   uv pip install --require-hashes --no-deps {_common.INDEX_STRATEGY} -r {file_word}",
        ]
    return [sinks.one_line(line) for line in lines]


def _shell_path(path: str) -> str:
    """``path`` as one shell word; a path in the home (``~/exports/r.txt``) with its ``~/`` left unquoted, for the
    shell to expand."""
    if path.startswith("~/"):
        return "~/" + sinks.shell_word(path[2:])
    return sinks.shell_word(path)


def _requirement(pkg: PythonPackage) -> str:
    art = pkg.artifact
    if pkg.source.kind == "archive":
        algo, value = pkg.source.archive_digest
        if not value and art is not None:
            algo, value = "sha256", art.sha256
        if not value:
            raise ExportError(f"requirements: {pkg.name}: archive install without a hash; run `{pin_command()}`")
        head = _common.by_location(pkg.name, pkg.source.url, "requirements")
        if pkg.source.subdirectory:
            head += f"#subdirectory={sinks.requirement_fragment(pkg.source.subdirectory)}"
        return f"{head} \\\n    {sinks.requirement_hash(algo, value)}"
    if art is None:  # every file an import kept, by its hash (_common.candidate_hashes), found where each was
        pin = f"{sinks.requirement_name(pkg.name)}=={sinks.requirement_version(pkg.version)}"
        return " \\\n    ".join([pin, *(sinks.requirement_hash("sha256", h) for h in _common.candidate_hashes(pkg))])
    # Known by URL only: reference the file; known by index or find-links location, or by hash alone: a pin
    # the index (or the --find-links location above) resolves.
    if _common.by_url_only(pkg):
        head = _common.by_location(pkg.name, art.url, "requirements")
    else:
        head = f"{sinks.requirement_name(pkg.name)}=={sinks.requirement_version(pkg.version)}"
    return f"{head} \\\n    {sinks.requirement_hash('sha256', art.sha256)}"


# pip percent-decodes a repository's URL before it reads the fragment and hands git the rest, which git decodes
# again: ``file:///tmp/run%231/repo`` cloned ``/tmp/run`` and ``file:///tmp/50%2541/repo`` the folder ``50A``. uv
# reads the URL once, as recorded. pip's command has each ``%`` encoded once more; uv's is given beside it.
def _decoded_twice(url: str) -> bool:
    """Whether pip, decoding the repository's URL ``url`` before git decodes it, would clone another folder."""
    lowered = url.lower()
    return url.startswith("file:") and ("%23" in lowered or "%25" in lowered)


def _direct_arguments(pkg: PythonPackage, *, uv: bool = False) -> str:
    """The arguments of the command that installs a VCS or folder source: pip's, or ``uv``'s where they differ."""
    src = pkg.source
    if src.kind == "vcs":
        if not uv and _decoded_twice(src.url) and not _label_folder(src.url):
            src = dataclasses.replace(src, url=src.url.replace("%", "%25"))
        if any(c.isspace() for c in src.subdirectory) or _label_folder(src.url):
            # A requirement's URL ends at the space (``name @ git+URL#subdirectory=my pkg``: pip refuses it), as it
            # does at one in the folder the shell names (``$PWD``: ``/tmp/my proj``); the URL as a word of its own is
            # read to its end, and pip finds the name in the folder's metadata.
            return _vcs_word(_common.pip_vcs_url(src, argument=True))
        return _vcs_word(f"{pkg.name} @ {_common.pip_vcs_url(src)}")
    path = fileurls.file_url_path(src.url) or src.url
    if src.subdirectory:
        path = f"{path.rstrip('/')}/{src.subdirectory}"
    if not path.startswith(("/", ".", "~")):
        # pip reads a word without a "/" as a project's name (``pip install pkgs`` installs pkgs from the index).
        path = "./" + path
    if sinks.pip_reads_extras(path):
        # pip reads ``./a[b]`` as ``./a`` with the extra ``b``: ``-e`` reads ``./a[b]/`` as the folder, and a plain
        # install a ``file:`` URL alone (it cuts the extras off a path before it reads it, whatever follows).
        if not src.editable:
            return _folder_url_word(path, pkg.name)
        path += "/"
    return ("-e " if src.editable else "") + _home_word(path)


def _folder_url_word(path: str, name: str = "") -> str:
    """``path`` as one shell word that is its ``file:`` URL: a relative path (from the project root) or one in the
    home with the shell's ``$PWD`` or ``$HOME`` in front, percent-encoded as the command runs (``_url_folder``).
    ``name``: the word is ``name @ URL``, which uv reads where it reads the URL alone as another folder (uv 0.13
    decodes an unnamed URL's ``%23`` and then reads that ``#`` as its end)."""
    head = f"{sinks.requirement_name(name)} @ " if name else ""
    if path == fileurls.HOME or path.startswith(fileurls.HOME + "/"):
        folder, tail = _url_folder("HOME"), path[len(fileurls.HOME) :]
    elif posixpath.isabs(path):
        return sinks.shell_word(head + "file://" + quote(path))
    else:
        folder, tail = _url_folder("PWD"), "/" + posixpath.normpath(path)
    return sinks.shell_word(head + "file://localhost") + folder + sinks.shell_word(quote(tail))


def _url_folder(variable: str) -> str:
    """The folder the shell's ``$PWD`` or ``$HOME`` names, as the path of a ``file:`` URL: pip and uv percent-decode
    that path and read a ``#`` as the URL's fragment and a ``?`` as its query, so from ``/tmp/run#1/proj`` the URL
    named ``/tmp/run`` and from ``/tmp/50%41/proj`` the folder ``/tmp/50A/proj``; a space ends a ``name @ URL``.
    The folder is known only as the command runs, so the command encodes those four (``%`` first) itself.
    ``variable``: a constant of envsnap's."""
    return f'"$(printf %s "${variable}" | sed \'s/%/%25/g; s/#/%23/g; s/?/%3F/g; s/ /%20/g\')"'


def _home_word(path: str) -> str:
    """``path`` as one shell word; a folder in the home (``~/my lib``) as ``"$HOME"'/my lib'``, which the shell
    expands (pip reads no ``~``, and a quoted one is not expanded), as ``_vcs_word`` names a repository there."""
    if path == fileurls.HOME or path.startswith(fileurls.HOME + "/"):
        tail = path[len(fileurls.HOME) :]
        return '"$HOME"' + (sinks.shell_word(tail) if tail else "")
    return sinks.shell_word(path)


# A repository the lock names by a label (the project's own, one in the home), which no pip or git reads: the shell
# names its folder as the command runs, from the project root the file's header says to install from.
_LABEL_FOLDERS = ((f"+file://{fileurls.PROJECT}", '"$PWD"'), (f"+file://{fileurls.HOME}", '"$HOME"'))


def _label_folder(url: str) -> bool:
    """Whether a VCS source names its repository by a label (``file://{project}``, ``file://~/lib``), which the
    command names by the folder the shell expands."""
    return any(
        url == f"file://{label}" or url.startswith(f"file://{label}/") for label in (fileurls.PROJECT, fileurls.HOME)
    )


def _vcs_word(text: str) -> str:
    """``text`` (a VCS requirement or URL) as one shell word; a repository it names by a label (``git+file://~/lib``)
    as ``git+file://localhost`` and the folder the shell expands (``"$HOME"/lib``), which pip and git read."""
    for label, folder in _LABEL_FOLDERS:
        head, sep, tail = text.partition(label)
        if sep and tail[:1] in ("", "/", "@", "#"):
            return sinks.shell_word(f"{head}+file://localhost") + folder + (sinks.shell_word(tail) if tail else "")
    return sinks.shell_word(text)


class RequirementsExporter(Exporter):
    name = "requirements"
    description = "requirements.txt with --hash lines and index options (pip install --require-hashes)"
    filename = _FILENAME
    needs_artifacts = True

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        return render(snapshot, file_name)


EXPORTER = RequirementsExporter()
