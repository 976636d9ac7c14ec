"""Helpers shared by several exporters (what the importers share with them is in ``envsnap.interchange``)."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from .. import fileurls, sinks
from .._privacy import HOST, USER, hidden_names
from ..errors import ExportError
from ..fileurls import file_url_path
from ..grammar import GrammarError, shown
from ..interchange import PYPI_SIMPLE as PYPI_SIMPLE  # the exporters reach these through _common
from ..interchange import candidate_hashes as candidate_hashes
from ..interchange import file_places
from ..interchange import file_url as file_url
from ..interchange import format_time as format_time
from ..interchange import is_find_links as is_find_links
from ..interchange import parse_time as parse_time
from ..model import PythonPackage, Snapshot, Source
from ..platforms import major_minor
from ..purls import hashed_url as hashed_url  # the rules live in core: verify names them too
from ..purls import pip_vcs_url as pip_vcs_url
from ..purls import vcs_url as vcs_url
from ..purls import without_url_hash as without_url_hash


def generator(snapshot: Snapshot) -> str:
    return snapshot.envsnap.generator or "envsnap"


def sys_platform(snapshot: Snapshot) -> str:
    """``sys.platform`` of the captured host, from ``platform.system()``."""
    system = snapshot.platform.system.lower()
    return {"windows": "win32", "darwin": "darwin", "linux": "linux"}.get(system, system)


def environment_marker(snapshot: Snapshot) -> str:
    """A PEP 508 marker that is true only on hosts like the captured one (OS, CPU, interpreter, Python).
    Each value is checked to be a plain word (``UnsafeValue``): a quote would change what the marker says."""
    parts = []
    if snapshot.platform.system:
        parts.append(f"sys_platform == '{sinks.marker_value(sys_platform(snapshot))}'")
    if snapshot.platform.machine:
        parts.append(f"platform_machine == '{sinks.marker_value(snapshot.platform.machine)}'")
    if snapshot.python.implementation:
        parts.append(f"implementation_name == '{sinks.marker_value(snapshot.python.implementation)}'")
    if snapshot.python.version:
        parts.append(f"python_version == '{sinks.marker_value(major_minor(snapshot.python.version))}'")
    return " and ".join(parts)


# Written where an export names a local project relative to the project root (PEP 751 and pip read such a path
# relative to the file, and to the working directory, respectively).
RELATIVE_NOTE = (
    "Local projects below are written relative to the project root: keep this file there and "
    "install from there (or export with --absolute-paths)"
)


# A file or folder the lock records inside the project, and the labels of one inside the project or the home.
_PROJECT_URL = "file://" + fileurls.PROJECT
_HOME_URL = "file://" + fileurls.HOME
_LABELLED = (_PROJECT_URL, _HOME_URL)


def in_project(url: str) -> bool:
    """Whether ``url`` is recorded inside the project (``file://{project}...``): an export names it relative to the
    project root, and says so (``RELATIVE_NOTE``)."""
    return url.startswith(_PROJECT_URL)


def pip_project_path(url: str) -> str | None:
    """A local file or folder recorded in the project (``file://{project}/wheels/x.whl``) as pip reads it from the
    project root, ``./wheels/x.whl`` (pip reads a relative path from its working directory, and a bare word as a name
    on the index); None for any other URL."""
    path = project_relative(url)
    return None if path is None else sinks.requirement_path(path)


def project_relative(url: str) -> str | None:
    """``pip_project_path`` before it is checked for a requirements file (a folder with a space is written
    otherwise: ``sinks.requirement_folder``)."""
    if not in_project(url):
        return None
    path = file_url_path(url)
    return "." if path == "." else "./" + path


def index_options(pinned: Iterable[PythonPackage]) -> list[str]:
    """The requirements-file options that find the pinned files (``requirements``, the pip section of
    ``environment-yml``): ``--index-url`` and ``--extra-index-url`` for the indexes they came from, so a local
    version label (``torch==2.5.1+cu121``) still finds its wheel on the index that serves it, then ``--find-links``
    for every folder or page a wheel was found in, after ``--no-index`` where no file is to be found on an index
    (``no_index_needed``: a bundle's wheels, a wheelhouse). Each value is checked for a requirements file.

    The default index is never named, as pip-compile and ``uv export`` leave it out: an ``--index-url`` in the file
    would override the mirror the installing user configured (``PIP_INDEX_URL``, pip.conf), and the hashes pin the
    files wherever they come from. Another index is the ``--index-url`` only when no file came from the default."""
    pinned = list(pinned)
    primary, extra = indexes(pinned)
    lines = ["--no-index"] if no_index_needed(pinned) else []
    lines += [f"--index-url {sinks.requirement_option_url(primary)}"] if primary else []
    lines += [f"--extra-index-url {sinks.requirement_option_url(url)}" for url in extra]
    return lines + [
        f"--find-links {sinks.requirement_location(_find_links_path(location))}"
        for location in find_links_locations(pinned)
    ]


def no_index_needed(pinned: Iterable[PythonPackage]) -> bool:
    """Whether every pinned file is found without an index: in a find-links folder or page, or by its own URL (a
    bundle's requirements, whose wheels are all in its folder). The requirements file then says ``--no-index``, so
    that pip and uv look for nothing on the index the installing user configured (offline, that look fails)."""
    places = [place for p in pinned for place in (file_places(p) or [("", "")])]
    return bool(places) and all(
        (index and is_find_links(index, url)) or (not index and url.startswith("file:")) for index, url in places
    )


def indexes(pinned: Iterable[PythonPackage]) -> tuple[str, list[str]]:
    """The ``--index-url`` ("" for the default index, never named) and the ``--extra-index-url`` indexes the pinned
    files came from (``index_options``). An extra index means more than one index to look on: uv then asks only the
    first that lists a package (the extra ones first), where pip looks on all of them (``INDEX_STRATEGY``)."""
    counts = Counter(
        index.rstrip("/")
        for p in pinned
        for index in {index for index, url in file_places(p) if index and not is_find_links(index, url)}
    )
    default = counts.pop(PYPI_SIMPLE, 0)
    # Without the default index, the index most packages came from is the primary one.
    primary = "" if default or not counts else max(sorted(counts), key=lambda url: counts[url])
    return primary, [url for url in sorted(counts) if url != primary]


# uv looks for a package on the first index that lists it (``--extra-index-url`` before ``--index-url``) and fails
# where that index lacks the pinned version, which pip finds on the other: with every file pinned by its hash, uv may
# look on all of them, as pip does (uv reads no index strategy from a requirements file: its command says it).
INDEX_STRATEGY = "--index-strategy unsafe-best-match"


def find_links_locations(pinned: Iterable[PythonPackage]) -> list[str]:
    """Every find-links folder or page a pinned wheel was found in (pin records it as the artifact's ``index``), as
    recorded: one inside the project or the home with its label (``file://{project}/wheels``)."""
    return sorted({index for p in pinned for index, url in file_places(p) if index and is_find_links(index, url)})


def hidden_find_links(snapshot: Snapshot) -> list[tuple[str, str]]:
    """Each find-links location ``index_options`` writes that holds ``<user>`` or ``<host>`` where nothing is (an
    import's ``--find-links /scratch/alice/wheels``, recorded as ``/scratch/<user>/wheels``, docs/security.md), with
    what it hides ("login name"): pip skips a folder it cannot find without a word and looks on the index alone."""
    found = []
    for location in find_links_locations(snapshot.python.packages):
        hidden = hidden_names(location)
        if hidden:
            found.append((_find_links_path(location), hidden))
    return found


def _find_links_path(location: str) -> str:
    """A find-links folder as pip reads it: a label (``file://{project}/wheels``, ``file://~/wheels``) as the path
    it stands for (``wheels``, read from the project root; ``~/wheels``, which pip expands in ``--find-links``);
    anything else as recorded."""
    return file_url_path(location) if location.startswith(_LABELLED) else location


def by_location(name: str, url: str, fmt: str) -> str:
    """A requirement for the file at ``url``: one in the project by the path pip reads from the project root (the
    export says so), anything else as ``name @ URL``, a hash of the URL's own left out (``without_url_hash``).
    ``fmt``: the format pip reads it from, which refuses a path under the home (none for a comment)."""
    url = without_url_hash(url)
    if fmt:
        refuse_home_path(url, fmt, name)
    path = pip_project_path(url)
    return path if path is not None else f"{sinks.requirement_name(name)} @ {sinks.requirement_url(url)}"


def url_subdirectory(pkg: PythonPackage, fmt: str, why: str) -> str:
    """``pkg``'s ``#subdirectory=`` value as a ``name @ URL`` requirement holds it (``sinks.requirement_fragment``).
    A folder with a space (``my pkg``) ends that requirement and no encoding carries it, while the requirements
    export names a git commit's, a local project's or an archive's in a ``pip install`` command of its own (an
    archive's URL with its hash, which pip checks): refused, saying so,
    ``why`` the format's reason. A folder no export names (``a&b``) is refused as before."""
    src = pkg.source
    try:
        return sinks.requirement_fragment(src.subdirectory)
    except GrammarError:
        if src.kind not in ("vcs", "directory", "archive") or not spaced_folder(src.subdirectory):
            raise
    raise ExportError(
        f"{fmt}: {pkg.name} {pkg.version}: its folder {shown(src.subdirectory, 200)} holds a space, and {why}; export "
        "--format requirements, which names the folder in a pip install command"
    )


def spaced_folder(subdirectory: str) -> bool:
    """Whether ``subdirectory`` is a folder no requirement line holds (a space ends its URL) and a command's word of
    its own names (``sinks.requirement_fragment``); not one no export names (``a&b``), nor one a line holds."""
    if not subdirectory:
        return False
    for argument in (False, True):
        try:
            sinks.requirement_fragment(subdirectory, argument=argument)
        except GrammarError:
            continue
        return argument
    return False


def by_url_only(pkg: PythonPackage) -> bool:
    """Whether the lock knows ``pkg``'s file by its URL alone: no index or find-links location serves it (a wheel
    installed from a URL), so a requirement must name the file; a pin by name and version would be looked up on
    an index that may not have it."""
    art = pkg.artifact
    return art is not None and bool(art.url) and not art.index


def refuse_home_path(url: str, fmt: str, name: str) -> None:
    """pip does not expand ``~`` in a requirement's path (only in ``--find-links``): a file or folder recorded under
    the home (``file://~/...``) would be a line naming nothing."""
    if url.startswith(_HOME_URL):
        raise ExportError(
            f"{fmt}: {name}: it is recorded under the home directory ({sinks.place_shown(url)}), which pip does not "
            "expand in a requirements file; export with --absolute-paths"
        )


def has_project_paths(snapshot: Snapshot) -> bool:
    """Whether a package's source or file is recorded inside the project (``file://{project}...``)."""
    return any(
        in_project(url)
        for p in snapshot.python.packages
        for url in (p.source.url, file_url(p.artifact) if p.artifact else "")
    )


def refuse_hidden(path: str, url: str, name: str) -> None:
    """``ExportError`` for a path that holds ``<user>`` or ``<host>`` where nothing is (``~/<user>-lib``: capture hid
    the login name of ``~/alice-lib``): written absolute, it names no folder, and no ``--project`` helps."""
    hidden = hidden_names(path if path.startswith("/") else "/" + path)
    if hidden:
        raise ExportError(
            f"--absolute-paths: {name} is recorded as {sinks.place_shown(url[:200])}, without the {hidden} (capture "
            f"writes {USER if hidden.startswith('login') else HOST} for it, docs/security.md), so it names no folder "
            "here: install the project from a path that does not hold it (or from inside the git work tree capture "
            "runs in, whose paths are kept as written) and capture again"
        )


def with_absolute_paths(snapshot: Snapshot, project_dir: Path | None, *, unsure: str = "") -> Snapshot:
    """The snapshot with every ``file://{project}/...`` and ``file://~/...`` URL made absolute for this machine
    (``envsnap export --absolute-paths``): the export then installs from any folder. ``unsure``: why ``project_dir``
    is only taken for the project (the lock's folder outside a git work tree: a lock ``import -o -`` wrote, then
    saved elsewhere, labels another folder) or, with None, why there is none: a path must then exist there, or the
    error asks for ``--project``, rather than write a path that names nothing."""

    def absolute(url: str, name: str) -> str:
        if not url.startswith(_LABELLED):
            return url
        path = file_url_path(url)
        if url.startswith(_HOME_URL):
            home = os.path.expanduser(path)
            refuse_hidden(home, url, name)
            return Path(home).as_uri()
        # One shell word, as every message names a path (``sinks.path_shown``): ``{project}/'my proj'``.
        where = sinks.path_shown("{project}" if path == "." else "{project}/" + path)
        if project_dir is None:
            refuse_hidden(path, url, name)
            raise ExportError(
                f"--absolute-paths: {name} is recorded inside the project ({where}), "
                f"{unsure or 'and no project is known here'}: name the project with --project DIR"
            )
        found = (project_dir.absolute() / path).resolve()
        refuse_hidden(str(found), url, name)
        if unsure and not found.exists():
            raise ExportError(
                f"--absolute-paths: {name} is recorded inside the project ({where}), which is not in "
                f"{sinks.path_shown(str(project_dir))} ({unsure}): name the project with --project DIR"
            )
        return found.as_uri()

    packages = []
    for pkg in snapshot.python.packages:
        source = dataclasses.replace(pkg.source, url=absolute(pkg.source.url, pkg.name))
        artifact = pkg.artifact
        if artifact is not None:  # its index too: a find-links folder in the project (file://{project}/wheels)
            index = absolute(artifact.index, pkg.name)
            if index != artifact.index and not artifact.url:
                # A folder an import found the file in, with no file URL beside it to tell it from an index: by its
                # path, as pip reads --find-links.
                index = file_url_path(index)
            artifact = dataclasses.replace(artifact, url=absolute(artifact.url, pkg.name), index=index)
        packages.append(dataclasses.replace(pkg, source=source, artifact=artifact))
    snapshot = dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))
    conda = snapshot.conda
    if conda is None:
        return snapshot
    # A channel or archive in the project or the home (a conda-bld folder, a channel kept in the project), as
    # capture and import record it: conda reads no label, so the conda formats name it by its path here too.
    archives = tuple(
        dataclasses.replace(p, url=absolute(p.url, p.name), channel=absolute(p.channel, p.name)) for p in conda.packages
    )
    channels = tuple(absolute(c, "a conda channel") for c in conda.channels)
    return dataclasses.replace(snapshot, conda=dataclasses.replace(conda, packages=archives, channels=channels))


def with_bundle_wheels(
    snapshot: Snapshot, wheels: Path, *, index_wheels: bool = False, as_find_links: bool = False
) -> Snapshot:
    """The snapshot with every package the bundle built (a VCS checkout, a local directory, an sdist: its
    artifact ``rebuilt``) or took from a folder of the author's machine (its artifact a ``file:`` URL) installed
    from that wheel in the bundle's ``wheels`` folder, by absolute path and sha256. ``export --format pylock``
    of a bundle directory: every entry then carries a hash, which pip's pylock reader requires of all of them
    once one has one (it refuses ``vcs`` and ``directory`` entries in its hash-checking mode), so pip and uv both
    install the file. ``index_wheels`` (pylock): an index package's wheel the bundle holds is named by its path
    there too, its index kept, so ``uv pip sync --offline`` installs the file from the bundle alone (with the
    index's URL it fetched it). ``as_find_links`` (requirements): such a wheel is found in the bundle's ``wheels``
    folder as a find-links folder (``_find_links_folder``), which the file then names with ``--find-links`` and, no
    package left to find on an index, ``--no-index``: pinned by name and hash, installed from the bundle alone as
    the index install the lock records. ``open_bundle`` has checked the wheels against SHA256SUMS and the lock,
    and the lock's file name is a plain base name (checked again here)."""
    from .. import grammar

    folder = wheels.resolve() if index_wheels else wheels  # once, not a resolve per package
    packages = []
    for pkg in snapshot.python.packages:
        art = pkg.artifact
        if art is not None and _a_bundle_wheel(pkg):
            wheel = wheels / art.filename
            if wheel.is_file():
                source = Source(kind="archive", url=wheel.resolve().as_uri(), archive_hash=f"sha256={art.sha256}")
                # The file is the bundle's: neither the folder it came from (a find-links line naming it) nor the
                # project it was built from ({project}: "keep this file in the project root") is named any more.
                artifact = dataclasses.replace(art, url=source.url, index="")
                pkg = dataclasses.replace(pkg, source=source, artifact=artifact)
        elif (
            index_wheels
            and art is not None
            and pkg.source.kind == "index"
            and art.sha256
            and art.filename.endswith(".whl")
            and grammar.is_base_name(art.filename)
            and (wheels / art.filename).is_file()
        ):
            # Still an index install (uv writes no direct_url.json for it, so verify finds it identical): the
            # file is the bundle's copy, which its hash ties to the index's.
            index = _find_links_folder(folder) if as_find_links else art.index  # a folder: ``is_find_links``
            pkg = dataclasses.replace(
                pkg, artifact=dataclasses.replace(art, url=(folder / art.filename).as_uri(), index=index)
            )
        packages.append(pkg)
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))


def with_bundle_find_links(snapshot: Snapshot, wheels: Path) -> Snapshot:
    """The snapshot with every wheel found in a folder of the author's machine (a ``file:`` find-links folder:
    ``file://{project}/conda/wheels``, ``file://~/wheels``, ``/srv/wheels``) that the bundle's ``wheels`` folder
    holds found in that folder (``_find_links_folder``) instead: the lock a bundle carries keeps the author's label,
    which read beside the bundle names a folder that is not there, so the export's ``--find-links`` named nothing
    and pip found no file. Still pinned by name and sha256 (the requirements file's hash check), so the index install
    the lock records; a wheel the bundle does not hold keeps its folder. The bundle is not checked where its lock is
    given (``BUNDLE/envsnap.lock``): a wheels folder or a wheel that is a link (out of the bundle) is
    ``BadBundleError``, as the bundle's checks refuse one, never named as the bundle's. A wheel the bundle built from a
    folder or repository of the author's machine (``file://{project}``, the project's own: ``_built_locally``) is
    named by its file there and sha256 too, as ``with_bundle_wheels`` names it for a bundle folder: written as the
    project root (``.``), it named the reader's working directory, and a reviewer given the bundle has no project."""
    folder = wheels.absolute()
    packages = []
    for pkg in snapshot.python.packages:
        art = pkg.artifact
        if art is not None and _in_a_local_folder(pkg) and _bundle_file(wheels, art.filename, art.sha256):
            art = dataclasses.replace(art, url=(folder / art.filename).as_uri(), index=_find_links_folder(folder))
            pkg = dataclasses.replace(pkg, artifact=art)
        elif art is not None and _built_locally(pkg) and _bundle_file(wheels, art.filename, art.sha256):
            url = (folder / art.filename).as_uri()
            source = Source(kind="archive", url=url, archive_hash=f"sha256={art.sha256}")
            pkg = dataclasses.replace(pkg, source=source, artifact=dataclasses.replace(art, url=url, index=""))
        packages.append(pkg)
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))


def require_conda_layer(snapshot: Snapshot, fmt: str) -> None:
    """``ExportError`` where the lock records no conda packages, which a conda format (``fmt``) needs: asked first,
    before what the command line does to the lock (a bundle folder's path, pinning), whose refusals sent the user to
    mend what did not matter."""
    if snapshot.conda is None or not snapshot.conda.packages:
        raise ExportError(
            f"{fmt}: the lock records no conda packages (it was not captured from a conda "
            "environment); use --format requirements or pylock"
        )


def _find_links_folder(folder: Path) -> str:
    """A bundle's wheels folder (absolute) as the find-links location a requirements file names: its path, or where
    pip would read that path otherwise (a ``#`` after a space, where it cuts a comment off the line; a ``${...}``,
    which it replaces by a variable; a control character or line separator, which ends the line) its ``file:`` URL,
    every such character percent-encoded, which pip and uv both read as the folder
    (``--find-links file:///.../review%20dir%20%231/wheels``). The path is the user's, not the lock's: the export
    refused it, exit 2, saying to move or rename the bundle folder."""
    from .. import grammar

    path = str(folder)
    try:
        sinks.requirement_location(path)
    except grammar.GrammarError:
        return folder.as_uri()
    return path if grammar.is_location(path) else folder.as_uri()


def _bundle_file(wheels: Path, filename: str, sha256: str) -> bool:
    """Whether the bundle's ``wheels`` folder holds ``filename`` as a file of its own, of the lock's ``sha256``; a
    link there (the folder or the file) or another file of that name is ``BadBundleError``, naming it as the bundle's
    checks do (an export whose lines carry no ``--hash``, one package having no file, would have pip take it)."""
    import stat

    from .._prehash import sha256_file
    from ..errors import BadBundleError

    modes = []
    for path in (wheels, wheels / filename):
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            raise BadBundleError(f"{path}: a link or special file in the bundle (a bundle holds only files)")
        modes.append(mode)
    if not (stat.S_ISDIR(modes[0]) and stat.S_ISREG(modes[1])):
        return False
    try:
        actual = sha256_file(wheels / filename)
    except OSError as exc:
        raise BadBundleError(f"{wheels / filename}: cannot be read: {exc.strerror or exc}") from None
    if actual != sha256:
        raise BadBundleError(
            f"{wheels / filename}: hash mismatch: sha256 {actual}, the lock says {sha256} (the file was changed after "
            "bundling)"
        )
    return True


def find_links_folder_packages(snapshot: Snapshot) -> list[PythonPackage]:
    """The packages ``with_bundle_find_links`` finds in the bundle's wheels: those a bundle archive's export cannot
    (its wheels are in a temporary folder only while it is read), and names in the author's folder."""
    return [pkg for pkg in snapshot.python.packages if _in_a_local_folder(pkg) or _built_locally(pkg)]


def _built_locally(pkg: PythonPackage) -> bool:
    """A wheel the bundle built from a folder or a repository of the author's machine (a ``file:`` source: the
    project's own ``file://{project}``), which a reader of the bundle has only as that wheel; or one a capture knows
    by its file name and sha256 alone (``from_a_bundle_wheel``: the venv rebuilt from a bundle archive, whose
    ``envsnap_bundle.json`` names the wheel), which no index holds: a bundle of that capture carries it."""
    from .. import grammar
    from ..artifacts.bundle import from_a_bundle_wheel

    art, src = pkg.artifact, pkg.source
    return (
        art is not None
        and art.rebuilt
        and (
            (src.kind in ("directory", "vcs") and src.url.startswith(("file:", "git+file:")))
            or from_a_bundle_wheel(pkg)
        )
        and art.filename.endswith(".whl")
        and grammar.is_base_name(art.filename)
    )


def _in_a_local_folder(pkg: PythonPackage) -> bool:
    """A wheel pinned by name from a find-links folder of the author's machine (not a page of links)."""
    from .. import grammar

    art = pkg.artifact
    return (
        art is not None
        and bool(art.index)
        and is_find_links(art.index, art.url)
        and (art.index.startswith("file:") or "://" not in art.index)
        and not art.index.lower().endswith((".html", ".htm"))
        and grammar.is_base_name(art.filename)
    )


def named_only(snapshot: Snapshot) -> list[PythonPackage]:
    """The index packages known by a wheel's file name and sha256 alone, with no URL: pinned from a seed-wheel folder
    of the pinning machine (its Python's ensurepip wheels, Debian's ``/usr/share/python-wheels``), whose place the
    lock does not name."""
    return [
        p
        for p in snapshot.python.packages
        if p.source.kind == "index"
        and p.artifact
        and not p.artifact.url
        and p.artifact.filename
        and not p.artifact.index  # a file of a find-links folder is named by it (file_url)
    ]


def with_seed_wheels(snapshot: Snapshot, found: Mapping[str, Path]) -> Snapshot:
    """The snapshot with each package ``named_only`` knows by a file of this machine's seed-wheel folders (``found``,
    by sha256: ``artifacts.pin.seed_wheels``) named by that file's URL, with no index: a requirements file names it
    (``pip @ file:///usr/share/python-wheels/pip-...whl``), a pylock by its path. Debian's and Ubuntu's rebuilds of
    pip and setuptools are on no index (PyPI's file of that version has another sha256, which pip picks over a
    ``--find-links`` folder's and then refuses), so only the very file installs them. The lock keeps no such path:
    this is done to what one export writes, on the machine that writes it."""
    seeded = {p.name for p in named_only(snapshot) if p.artifact is not None and p.artifact.sha256 in found}
    if not seeded:
        return snapshot
    packages = []
    for pkg in snapshot.python.packages:
        art = pkg.artifact
        if art is not None and pkg.name in seeded:
            path = found[art.sha256]
            art = dataclasses.replace(art, filename=path.name, url=path.as_uri(), index="")
            pkg = dataclasses.replace(pkg, artifact=art)
        packages.append(pkg)
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))


def bundle_wheel_packages(snapshot: Snapshot) -> list[PythonPackage]:
    """The packages ``with_bundle_wheels`` names by the bundle's wheel: those a bundle archive's export cannot (its
    wheels are in a temporary folder only while it is read), and names as the lock records them."""
    return [pkg for pkg in snapshot.python.packages if _a_bundle_wheel(pkg)]


def _a_bundle_wheel(pkg: PythonPackage) -> bool:
    """A wheel the bundle built (a VCS checkout, a local directory, an sdist), or took from a folder of the author's
    machine (a find-links folder: a ``file:`` URL; the Python's own ``ensurepip`` wheel, named by file name and
    sha256 alone, with no URL), which the bundle carries and a reader has nowhere else."""
    from .. import grammar

    art = pkg.artifact
    local = art is not None and (art.rebuilt or art.url.startswith("file:") or not art.url)
    return art is not None and local and art.filename.endswith(".whl") and grammar.is_base_name(art.filename)
