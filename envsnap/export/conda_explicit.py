"""``conda-explicit``: the ``@EXPLICIT`` spec ``conda create --file`` installs with no solve.

One ``URL#md5`` line per conda package (``URL#sha256:<hex>`` when the lock has no md5), dependencies first,
after a ``# platform:`` line. Then a pip-installed package with a file URL and sha256 is a ``# pip NAME @
URL#sha256=HEX`` line, as ``conda-lock render --kind explicit`` writes it (``conda-lock install`` hands those lines
to pip; conda reads them as comments), and a git commit or a local folder a ``# pip NAME @ URL`` line as conda-lock
renders the one it locked; one without is a plain comment that says why, so nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses

from .. import fileurls, sinks
from .._templates import render as render_template
from ..grammar import GrammarError, shown
from ..model import PythonPackage, Snapshot
from . import _common, _conda
from .interface import Exporter, ExportError, refuse_stand_ins_by_name

FILENAME = "conda-explicit.txt"


def dumps(snapshot: Snapshot, file_name: str = FILENAME) -> str:
    # conda reads one package per line: a URL, md5 or subdir holding a newline must add no line.
    with sinks.refusing(ExportError, "conda-explicit"):
        return _dumps(snapshot, file_name)


def _dumps(snapshot: Snapshot, file_name: str) -> str:
    packages = _conda.require_conda(snapshot, "conda-explicit")
    refuse_stand_ins_by_name(snapshot, "conda-explicit")
    lines = []
    for pkg in _conda.install_order(packages):
        if not pkg.url:
            raise ExportError(f"conda-explicit: {pkg.name} {pkg.version}: the lock has no URL for it")
        lines.append(sinks.conda_url_line(pkg.url, pkg.md5, pkg.sha256))
    pip, unlisted = [], []
    for py in _conda.pip_packages(snapshot):
        direct = _direct_line(py)
        if direct:
            pip.append(direct)
            continue
        found = _conda.pip_file(py)
        if found is not None and not _conda.labelled(found[0]):
            # The line's fragment is the lock's sha256: a fragment of the URL's own (``#egg=``, ``#sha256=``) goes.
            # A URL pip would read as something else (a ``${NAME}``, white space, a line break) is left out as a
            # comment saying so, rather than refusing the whole file (lock data is untrusted: docs/security.md).
            try:
                line = sinks.conda_pip_line(py.name, found[0].split("#", 1)[0], found[1])
                if py.source.kind == "archive" and py.source.subdirectory:
                    # The project's folder in the archive, after the hash, as conda-lock's ``source`` has it: without
                    # it pip built the archive's root, which holds no project.
                    line += f"&subdirectory={sinks.requirement_fragment(py.source.subdirectory)}"
                pip.append(line)
                continue
            except GrammarError:
                found = None
                why = "its URL is not one requirement pip reads as written"
                if py.source.kind == "archive" and py.source.subdirectory:
                    why = f"its folder {shown(py.source.subdirectory)} in the archive is not one a pip line names"
        else:
            why = _why_unlisted(py, found)
        unlisted.append(_unlisted_line(py, why))
    return render_template(
        "conda/explicit.txt.j2",
        digest=snapshot.envsnap.content_digest or "(unsealed)",
        filename=sinks.shell_word(file_name),
        subdir=sinks.conda_subdir(snapshot.conda.subdir) if snapshot.conda and snapshot.conda.subdir else "",
        pip=pip,
        unlisted=unlisted,
        lines=lines,
    )


def _direct_line(pkg: PythonPackage) -> str:
    """A git commit, a local folder or an unhashed file as ``conda-lock render --kind explicit`` writes the one it
    locked (``NAME @ git+URL@COMMIT``, ``NAME @ file:///folder``), which ``conda-lock install`` hands to pip; "" where
    the line would not install what the lock records (an editable folder, a project folder's label, a subdirectory,
    a URL pip would read otherwise): those stay in the header's comment."""
    src = pkg.source
    # A file by URL the lock has no hash for is one too, as conda-lock renders a local wheel it locked (one with a
    # sha256 is a ``NAME @ URL#sha256=HEX`` line).
    unhashed_file = src.kind == "archive" and not src.archive_hash
    if src.subdirectory or not (src.kind in ("vcs", "directory") or unhashed_file):
        return ""
    if src.kind == "vcs" and not src.commit_id:
        return ""
    if src.kind == "directory" and (src.editable or not fileurls.is_file_url(src.url)):
        return ""
    if _conda.labelled(src.url):
        return ""
    url = _common.pip_vcs_url(src) if src.kind == "vcs" else src.url
    try:
        return sinks.conda_pip_direct_line(pkg.name, url)
    except GrammarError:
        return ""


def _unlisted_line(pkg: PythonPackage, why: str) -> str:
    """The header's comment on a package with no ``# pip`` line: its requirement and why. A commit's folder that no
    requirement names as pip reads it (``sinks.requirement_fragment``: a space, an ``&``) is named beside the pin:
    the comment is no command, and refusing it refused the whole file."""
    try:
        return f"{_conda.pip_requirement(pkg)[0]} ({why})"
    except GrammarError:
        pin = f"{sinks.requirement_name(pkg.name)}=={sinks.requirement_version(pkg.version)}"
        if pkg.source.kind == "directory":  # a folder no requirements line names as pip reads it (``my -e proj``)
            named = sinks.place_shown(pkg.source.url)
            return f"{pin} ({why})" if named in why else f"{pin} ({why}: {shown(pkg.source.url, 200)})"
        if pkg.source.kind == "archive" and pkg.source.subdirectory:  # ``why`` names the folder
            return f"{pin} ({why}: {shown(pkg.source.url, 200)})"
        if pkg.source.kind != "vcs" or not pkg.source.subdirectory:
            raise
    commit = _common.pip_vcs_url(dataclasses.replace(pkg.source, subdirectory=""))
    where = f"its folder {shown(pkg.source.subdirectory)} in {sinks.requirement_url(commit)}"
    return f"{pin} ({why}; {where} is not one a pip requirement names)"


def _why_unlisted(pkg: PythonPackage, found: tuple[str, str] | None) -> str:
    """Why a pip package has no ``# pip`` line (the line is a file's URL and sha256)."""
    if found is not None:
        # For a person: by its path, one shell word (``sinks.place_shown``), where its URL read ``my%20wheels``.
        return (
            f"its file is recorded as {sinks.place_shown(found[0])}, which is no URL outside envsnap: export with "
            "--absolute-paths"
        )
    if pkg.source.kind == "vcs":
        return "a VCS checkout, not a file"
    if pkg.source.kind == "directory":
        if not pkg.source.editable and _conda.labelled(pkg.source.url):  # a ``# pip`` line with --absolute-paths
            return (
                f"its folder is recorded as {sinks.place_shown(pkg.source.url)}, which is no URL outside envsnap: "
                "export with --absolute-paths"
            )
        return "a local project, not a file"
    if pkg.source.kind == "archive":
        return "the lock has no sha256 for its file"
    return "the lock has no file URL and sha256 for it: envsnap pin records them"


def render(snapshot: Snapshot, file_name: str = FILENAME) -> dict[str, bytes]:
    """The file, whose header's command names ``file_name``: the base name it is written to (``-o ci.txt``)."""
    return {FILENAME: dumps(snapshot, file_name).encode("utf-8")}


class CondaExplicitExporter(Exporter):
    name = "conda-explicit"
    description = "conda @EXPLICIT spec: one URL#md5 a line, installs with no solve; pip packages as '# pip' lines"
    filename = FILENAME
    # A '# pip' line is a file's URL and sha256: pinned first, as environment-yml's hashed pip section; a package
    # pinning leaves without one stays a comment saying so.
    needs_artifacts = True

    def files(self, snapshot: Snapshot) -> dict[str, bytes]:
        return render(snapshot)

    def files_named(self, snapshot: Snapshot, lock_name: str, file_name: str) -> dict[str, bytes]:
        return render(snapshot, file_name)


EXPORTER = CondaExplicitExporter()
