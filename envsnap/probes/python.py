"""The Python layer: run the standard-library probe in the target interpreter, turn its answer into the model."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .._defaults import EDITABLE_DIRTY, EDITABLE_GONE, pythonpath_distributions
from .._defaults import pythonpath_folders as pythonpath_folders
from .._lazyre import LazyPattern
from .interface import Probe, ProbeContext, ProbeResult, RawPackage, RawPython
from .pending import PROBE_PATH
from .pending import PendingProbe as PendingProbe
from .pending import run_probe as run_probe
from .target import TargetEnvironment as TargetEnvironment
from .target import is_python_name as is_python_name
from .target import resolve_interpreter as resolve_interpreter
from .target import script_interpreter as script_interpreter
from .target import select_environment as select_environment

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .._privacy import PathRedactor
    from ..model import Artifact, PythonEnv, PythonPackage, Source
    from .hostlibs import PackageDatabase

PROBE_SCRIPT = Path(PROBE_PATH)  # imports _pyprobe (its byte code): see there


def source_from_direct_url(direct_url: Any, redact: PathRedactor) -> Source:
    """PEP 610 ``direct_url.json`` -> Source. Credentials, signed-URL signatures, tokens, home directories and the
    login and host names never survive in the URL and the requested revision (the probe reports the file as is;
    this is where it is scrubbed). The ``subdirectory`` is kept as written: a folder inside the repository or
    archive, where a rebuild builds the package, not a path of this machine (``alice-tools`` recorded as
    ``<user>-tools`` named nothing there)."""
    from ..model import Source, Vcs

    if not isinstance(direct_url, dict) or not isinstance(direct_url.get("url"), str):
        return Source()
    subdirectory = str(direct_url.get("subdirectory", "") or "")
    vcs = direct_url.get("vcs_info")
    written = _encoded_as_a_folder(direct_url["url"]) if isinstance(vcs, dict) else direct_url["url"]
    url = _spaces_encoded(redact.url(written))
    if isinstance(vcs, dict):
        return Source(
            kind="vcs",
            url=url,
            vcs=cast("Vcs", str(vcs.get("vcs", ""))),  # direct_url.json's: lockfile.RULES refuses another
            commit_id=str(vcs.get("commit_id", "")),
            requested_revision=redact.names(str(vcs.get("requested_revision", "") or "")),
            subdirectory=subdirectory,
        )
    archive = direct_url.get("archive_info")
    if isinstance(archive, dict):
        hashes = archive.get("hashes")
        archive_hash = ""
        if isinstance(hashes, dict) and hashes:
            algo = "sha256" if "sha256" in hashes else sorted(hashes)[0]
            archive_hash = f"{algo}={hashes[algo]}"
        elif isinstance(archive.get("hash"), str):
            archive_hash = archive["hash"]
        if not archive_hash:
            # uv installing ``name @ file:///w/x.whl#sha256=HEX`` keeps the hash in the URL's fragment and leaves
            # ``archive_info`` empty; pip moves it into ``archive_info``. Read as pip writes it.
            url, archive_hash = _hash_fragment(url)
        return Source(kind="archive", url=url, archive_hash=archive_hash, subdirectory=subdirectory)
    dir_info = direct_url.get("dir_info")
    if isinstance(dir_info, dict):
        return Source(
            kind="directory", url=url, editable=bool(dir_info.get("editable", False)), subdirectory=subdirectory
        )
    return Source(kind="archive", url=url, subdirectory=subdirectory)


def _spaces_encoded(url: str) -> str:
    """A local URL with each white space character percent-encoded, as pip writes a folder's URL
    (``file:///w/my%20proj``): for a repository it records the path decoded (``git+file://localhost/w/my proj``),
    a URL the lock loader refuses. pip and git read ``%20`` as the space again."""
    scheme = url.partition("://")[0]
    if not (scheme == "file" or scheme.endswith("+file")) or not any(c.isspace() for c in url):
        return url
    from urllib.parse import quote

    return "".join(quote(c) if c.isspace() else c for c in url)


def _encoded_as_a_folder(url: str) -> str:
    """A local repository's URL (as direct_url.json gives it, before the redactor reads it) with its path
    percent-encoded throughout, as pip writes a folder's URL (``path_to_url``) and every reader decodes it
    (``fileurls.decoded_path``): pip keeps a repository's URL as it was given, partly encoded
    (``file:///lab/rés%20earch/labgit``), where an import records the same repository as
    ``file:///lab/r%C3%A9s%20earch/labgit``, and the lock held one place in two spellings. This machine's host
    (``file://localhost/``) is no part of it. A remote URL, or one with a query or fragment, is kept as written."""
    from urllib.parse import quote, unquote

    scheme, sep, rest = url.partition("://")
    if not sep or not (scheme == "file" or scheme.endswith("+file")) or "?" in rest or "#" in rest:
        return url
    rest = rest.removeprefix("localhost")
    if not rest.startswith("/"):
        return url  # another host's folder: as written
    return f"{scheme}://{quote(unquote(rest))}"


def _hash_fragment(url: str) -> tuple[str, str]:
    """An archive URL whose fragment is its hash alone (``#sha256=HEX``, as PEP 610's older ``url`` spelling and uv
    write it) -> the URL without it and ``sha256=HEX``; any other URL as it is, with no hash."""
    base, sep, fragment = url.partition("#")
    algo, eq, value = fragment.partition("=")
    if sep and eq and algo in ("sha256", "sha384", "sha512") and value and all(c in "0123456789abcdef" for c in value):
        return base, f"{algo}={value}"
    return url, ""


def python_env(raw: RawPython, redact: PathRedactor, project: str | None = None) -> tuple[PythonEnv, list[str]]:
    """The recorded Python layer and the warnings worth keeping in the lockfile; ``project``: the project's work tree,
    whose editable install stays the folder it is built from (``_editable_checkout``)."""
    from .. import grammar
    from ..model import PthFolder, PythonEnv

    packages = []
    added = pth_folders(raw)
    warnings = [f"python: {w.kind}: {redact.path(w.path)}: {redact.text(w.reason)}" for w in raw.warnings]
    warnings += [f"python: {info.name}: {info.warning}" for info in raw.packages if info.warning]
    warnings += [f"python: {info.name}: {note}" for info in raw.packages if (note := files_gone_note(info))]
    warnings += [f"python: {info.name}: {zipped_native_note(info)}" for info in raw.packages if info.zipped_native]
    warnings += [f"python: .pth: {pth_folder_note(pth, folder, redact)}" for pth, folder in added]
    listings = {folder: pth_folder_listing(folder) for _, folder in added}
    digests = {folder: "" if listing is None else pth_listing_digest(listing) for folder, listing in listings.items()}
    over = [grammar.strip_control(redact.path(folder)) for folder, digest in digests.items() if not digest]
    warnings += [f"python: .pth: {folder} {PTH_OVER}" for folder in over]
    for info in raw.packages:
        refused = _unrecordable(info, redact)
        if refused:  # a lock holding it would be refused by every command (and is not written): left out, said
            warnings.append(refused)
            continue
        package = _package(info, redact)
        if package.source.kind == "directory" and package.source.editable:
            if editable_folder_gone(info):
                warnings.append(f"python: {package.name}: {editable_gone_note(package.source)}")
            source, warning = _editable_checkout(info, package.source, raw.prefix, redact, project)
            package = dataclasses.replace(package, source=source)
            warnings += [f"python: {package.name}: {warning}"] if warning else []
        package, warning = _checked_subdirectory(package, redact)
        warnings += [warning] if warning else []
        packages.append(package)
    packages.sort(key=lambda p: p.name)
    env = PythonEnv(
        implementation=raw.implementation,
        version=raw.version,
        abi=raw.abi,
        soabi=raw.soabi,
        platform_tag=raw.platform_tag,
        pointer_bits=raw.pointer_bits,
        free_threaded=raw.free_threaded,
        kind=raw.kind,
        executable=_relative(raw.executable, raw.prefix),
        packages=tuple(packages),
        pth_folders=tuple(
            PthFolder(
                *pth_folder_shown(pth, folder, redact), digest=digests[folder], files=_pth_files(listings[folder])
            )
            for pth, folder in added
        ),
    )
    return env, sorted(warnings)


def _unrecordable(info: RawPackage, redact: PathRedactor) -> str:
    """The warning for a distribution whose name or version no lock can hold (a hand-made ``.dist-info`` saying
    ``Name: odd name!``, a version with a space): no installer can install it by that name, and a lock naming it is
    refused by every command, so it is left out, as a record that cannot be read is (``broken-dist``); "" for any
    other."""
    from .. import grammar

    named = grammar.is_canonical_name(info.name)
    if named and grammar.is_version(info.version):
        return ""
    what = "version" if named else "name"
    folder = grammar.strip_control(redact.path(info.dist_dir or info.site_dir or info.name))
    value = grammar.shown(info.name if what == "name" else info.version, 80)
    return (
        f"python: broken-dist: {folder}: its metadata gives the {what} {value}, which no lock can hold "
        "(PEP 503 names, PEP 440 or plain versions): not recorded"
    )


def _pth_files(listing: tuple[str, ...] | None) -> tuple[str, ...]:
    """``listing`` as the lock records it (``python.pth_folders.files``): none where one entry is not what the lock
    loader takes (a hidden or oddly named file), which would leave the lock unreadable; its digest still stands."""
    from .. import grammar

    return listing if listing is not None and all(grammar.is_pth_file_entry(e) for e in listing) else ()


def _checked_subdirectory(package: PythonPackage, redact: PathRedactor) -> tuple[PythonPackage, str]:
    """``package`` with its source's ``subdirectory`` as the lock loader takes it (``grammar.is_relative_path``), and
    the warning where it cannot be: ``.`` and empty parts go (pip records ``#subdirectory=./pkg/`` as written: the
    same folder as ``pkg``); one still not a relative path of plain names (a ``..``, a hidden folder, an absolute
    path) leaves the source out, as a bad conda record is, since the lock written would be refused on its next
    load. A space or an ``&`` stays: a folder the loader takes (an export refuses what pip would misread)."""
    from .. import grammar
    from ..model import Source

    written = package.source.subdirectory
    plain = "/".join(part for part in written.split("/") if part not in ("", "."))
    if plain and not grammar.is_relative_path(plain):
        shown = grammar.shown(redact.text(written))
        return dataclasses.replace(package, source=Source()), (
            f"python: {package.name}: direct_url.json's subdirectory {shown} is not a folder inside the project "
            "(a relative path of plain names); its source is not recorded"
        )
    if plain != written:
        package = dataclasses.replace(package, source=dataclasses.replace(package.source, subdirectory=plain))
    return package, ""


def _package(info: RawPackage, redact: PathRedactor) -> PythonPackage:
    from .. import grammar
    from ..model import PythonPackage

    return PythonPackage(
        name=info.name,
        version=info.version,
        installer=_installer(info.installer),
        requested=info.requested,
        wheel_tags=info.wheel_tags,
        source=_source(info, redact),
        record_digest=info.record_digest,
        metadata_name=info.metadata_name if info.metadata_name != info.name else "",
        # Each line as shown (grammar.is_line): a control, bidi or line separator character as U+FFFD, so the lock
        # loads (verify then skips that line as not PEP 508, as pip would not act on it either).
        requires_dist=tuple(map(grammar.strip_terminal, info.requires_dist)),
        requires_python=info.requires_python if grammar.is_requires_python(info.requires_python) else "",
        base_site=info.base_site,
        artifact=_bundle_wheel(info),
    )


def _bundle_wheel(info: RawPackage) -> Artifact | None:
    """The bundle's wheel a venv rebuilt from a bundle archive names for a distribution whose source no place on
    that machine holds (``interface.BUNDLE_WHEEL_FILE``): recorded by its file name and sha256, ``rebuilt`` with no
    URL, so that pin finds it on no index and bundle takes it where it is by that sha256 (a find-links folder, the
    download cache), and the lock says so; the installed files prove it (RECORD digest). None for any other: a
    file not of this name and version, or not a wheel, is no claim a capture takes (the distribution is then an
    index install, as without it)."""
    named = info.bundle_wheel
    if info.direct_url is not None or info.egg_link or not isinstance(named, dict):
        return None  # every other distribution: nothing more imported or read for it
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    from .. import grammar
    from ..model import Artifact

    filename, sha256 = named.get("filename"), named.get("sha256")
    if not (isinstance(filename, str) and isinstance(sha256, str) and grammar.is_sha256_hex(sha256)):
        return None
    if not (grammar.is_base_name(filename) and filename.endswith(".whl")):
        return None
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return None
    if canonicalize_name(name) != canonicalize_name(info.name) or str(version) != info.version:
        return None
    return Artifact(filename=filename, url="", sha256=sha256, rebuilt=True)


def reads_checkouts(packages: Iterable[PythonPackage]) -> bool:
    """Whether any of ``packages`` is installed editable from a git commit: a capture reads its checkout's ``HEAD``
    (``_editable_checkout``), which no file the capture and verify memos stamp records, so neither keeps it."""
    return any(p.source.kind == "vcs" and p.source.editable and p.source.vcs == "git" for p in packages)


def reads_checkout_state(raw: RawPython, project: str | None) -> bool:
    """Whether a capture of ``raw`` reads the state of a git checkout outside the environment (an editable folder
    in a work tree other than the ``project``'s): ``_editable_checkout`` records it by its commit or as a folder by
    whether a tracked file is edited and a branch of its remote holds that commit, which no file the capture memo
    stamps records (a ``git commit`` or ``git push`` there changes none), so the memo keeps no such lock."""
    from . import gitstate

    for info in raw.packages:
        folder = editable_folder(info)
        outside = folder and not (raw.prefix and _inside(folder, raw.prefix))
        if outside and not (project is not None and _in_work_tree(folder, project)) and gitstate.below_git(folder):
            return True
    return False


def editable_folder(info: RawPackage) -> str:
    """The folder an editable install reads its code from, as its ``direct_url.json`` names it (joined with its
    ``subdirectory``) or, for a legacy one, its ``.egg-link``; "" where neither names an absolute local folder."""
    from .. import fileurls

    direct = info.direct_url
    url = direct.get("url") if isinstance(direct, dict) else None
    if isinstance(direct, dict) and isinstance(url, str) and fileurls.is_file_url(url):
        folder = fileurls.file_url_path(url)
        sub = direct.get("subdirectory")
        folder = os.path.join(folder, sub) if isinstance(sub, str) and sub else folder
    else:
        folder = info.egg_link if direct is None else ""
    return folder if os.path.isabs(folder) else ""


def editable_folder_gone(info: RawPackage) -> bool:
    """Whether ``info`` is an editable install whose folder (``editable_folder``) is gone: moved or deleted after
    ``pip install -e``, nothing of it imports, though its ``.dist-info`` (and its RECORD, listing only the ``.pth``
    hook) is as it was."""
    folder = editable_folder(info)
    direct = info.direct_url
    dir_info = direct.get("dir_info") if isinstance(direct, dict) else None
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return bool(folder) and (editable or direct is None) and not os.path.isdir(folder)


def editable_gone_note(source: Source) -> str:
    """What is said of an editable install of the (recorded) ``source`` whose folder is gone."""
    what = "folder" if source.kind == "directory" else "checkout of"
    return f"its editable {what} {source.url}{EDITABLE_GONE}"


def warning_shown(warning: str) -> str:
    """A capture warning as the terminal shows it, each path it names one shell word (``sinks.path_shown``: a label,
    ``{prefix}``, left bare), so a line a user copies from reads as the shell would: the folder of an editable install
    gone by its decoded path (``sinks.place_shown``), as verify prints it; a ``.pth`` file and the folder it adds, a
    ``PYTHONPATH`` folder, a record's folder (broken, shadowed, a duplicate), an editable checkout with changes, the
    ``--prefix`` of another environment. The lock keeps the warning as written (its identity counts it; a move reads
    its paths); any other warning is shown as it is (its ``file:///PATH`` a rule's text)."""
    from ..sinks import paths_shown, place_shown

    if warning.endswith(EDITABLE_GONE):
        head = warning[: -len(EDITABLE_GONE)]
        for what in ("its editable folder ", "its editable checkout of "):
            before, found, url = head.rpartition(what)
            if found and url and not any(c.isspace() for c in url):
                return f"{before}{what}{place_shown(url)}{EDITABLE_GONE}"
        return warning
    return paths_shown(_PATH_WARNINGS, warning)


# The names a note of files gone lists, at most.
_GONE_NAMED = 5


def zipped_native_note(info: RawPackage) -> str:
    """What is said of a zipped egg holding compiled modules (``RawPackage.zipped_native``): nothing lists them (an
    egg has no RECORD, so they are no shared object of the lock's), and nothing rebuilds the egg as it is: every
    target installs a wheel of its name and version, built by another hand if an index has one at all."""
    from .. import grammar
    from ..report import first_few

    names = [grammar.strip_terminal(name) for name in info.zipped_native]
    return (
        f"a zipped egg holding native code ({first_few(names, _GONE_NAMED)}): its shared objects are not recorded, "
        "and a rebuild cannot reproduce the egg as it is (it installs a wheel of this name and version)"
    )


def files_gone_note(info: RawPackage) -> str:
    """What is said of a distribution whose ``.dist-info`` (or ``.egg-info``) is there and some of the names its
    RECORD (``installed-files.txt``, ``top_level.txt``) lists files under are not (``rm -rf site-packages/alpha``, a
    ``pip uninstall`` stopped half way): "" where none is gone. All of them gone: nothing of it imports, though its
    metadata and RECORD (and so its digest) are as they were."""
    from .. import grammar
    from ..report import first_few

    missing = info.missing_top_level
    if not missing:
        return ""
    folder = os.path.basename(info.dist_dir)
    metadata = "EGG-INFO" if folder == "EGG-INFO" else ".egg-info" if folder.endswith(".egg-info") else ".dist-info"
    if len(missing) >= info.top_level_listed:
        return f"its {metadata} is there, its files are not: nothing of it imports"
    listed = first_few(missing, _GONE_NAMED)
    return grammar.strip_control(f"its {metadata} is there, part of its files are not: {listed}")


def _editable_checkout(
    info: RawPackage, source: Source, prefix: str, redact: PathRedactor, project: str | None = None
) -> tuple[Source, str]:
    """``source``, an editable install of a folder, as the git checkout it is, where that checkout is a clone of a
    repository the lock can name: pip clones ``-e git+URL@REV#egg=NAME&subdirectory=DIR`` into ``{prefix}/src/NAME``
    (``--src DIR`` elsewhere; a system interpreter into ``./src``) and records the folder (``dir_info``), not the
    commit, which ``pip freeze`` reads back from the clone. Recorded as that: the clone's origin URL, its ``HEAD``
    commit, the folder's place in it as ``subdirectory``.

    Inside the environment's ``prefix`` the checkout is pip's: read whatever its origin (a path as a ``file:`` URL,
    the checkout's folder without a remote), with a warning when a tracked file differs from that commit. Elsewhere
    pip's clone cannot be told from a checkout of the user's own, so it is read only where the commit alone gives
    the code and can be fetched: no tracked file differs from it, the origin is a network URL, and a branch of that
    remote holds the commit (``gitstate.published_remote_url``). The project's own work tree, a checkout with an
    edit or a commit never pushed, and a folder in no git work tree stay folders: the folder is what builds them."""
    from .. import fileurls, grammar
    from .._privacy import pip_remote_url
    from ..model import Source
    from . import gitstate

    folder = editable_folder(info)
    if not folder:
        return source, ""
    inside = bool(prefix) and _inside(folder, prefix)
    if not inside and project is not None and _in_work_tree(folder, project):
        return source, ""  # the project's own folder: no git run for it
    found = gitstate.checkout(folder)
    if found is None:
        return source, ""
    root, commit, dirty = found
    if inside:
        # Strictly inside: a venv made in the project's own folder (``python -m venv .``) has the project's checkout
        # as its prefix, and the project stays the folder it is built from (``file://{project}``).
        if not _inside(root, prefix) or os.path.realpath(root) == os.path.realpath(prefix):
            return source, ""
        remote = pip_remote_url(gitstate.remote_url(root))
    else:
        if dirty or (project is not None and os.path.realpath(root) == os.path.realpath(project)):
            return source, ""
        remote = pip_remote_url(gitstate.published_remote_url(root))
        if not remote or fileurls.is_file_url(remote):
            return source, ""
    place = os.path.relpath(os.path.realpath(folder), os.path.realpath(root)).replace(os.sep, "/")
    place = "" if place == "." else place
    where = redact.url(remote) if remote else ""
    if inside and not grammar.is_lock_url(where):
        where = redact.url(Path(root).as_uri())
    if (
        not grammar.is_lock_url(where)
        or not grammar.is_commit_id(commit)
        or (place and not grammar.is_relative_path(place))
    ):
        return source, ""
    checkout = Source(kind="vcs", url=where, vcs="git", commit_id=commit, subdirectory=place, editable=True)
    warning = ""
    if dirty:
        warning = (
            f"its editable checkout {redact.path(root)}{EDITABLE_DIRTY}its code is not the recorded commit "
            f"{commit[:12]}'s"
        )
    return checkout, warning


def _in_work_tree(path: str, root: str) -> bool:
    """Whether ``path`` lies in the work tree at ``root`` itself, not in a checkout nested in it (a folder between
    them holding ``.git``: a clone in the project's ignored ``src/``, a submodule)."""
    if not _inside(path, root):
        return False
    top, folder = os.path.realpath(root), os.path.realpath(path)
    while folder != top:
        if os.path.lexists(os.path.join(folder, ".git")):
            return False
        folder = os.path.dirname(folder)
    return True


def _inside(path: str, folder: str) -> bool:
    try:
        real, top = os.path.realpath(path), os.path.realpath(folder)
        return os.path.commonpath([real, top]) == top
    except (OSError, ValueError):
        return False


def _installer(text: str) -> str:
    """An ``INSTALLER`` file's installer as a lock holds it: its first line, where that is an installer's name
    (printable ASCII), else none. A file of two lines or of other text went into the lock as it stood, and the
    lock just written was refused on its next load."""
    from .. import grammar

    first = text.strip().partition("\n")[0].strip()
    return first if grammar.is_installer(first) else ""


def _source(info: RawPackage, redact: PathRedactor) -> Source:
    """Where a distribution came from: its ``direct_url.json``; a legacy editable install (``setup.py develop``)
    has none, and is recorded as a modern editable install of the folder its ``.egg-link`` names."""
    if info.direct_url is None and info.egg_link:
        from ..model import Source

        return Source(kind="directory", url=redact.url(Path(info.egg_link).as_uri()), editable=True)
    return source_from_direct_url(info.direct_url, redact)


# The distributions a PYTHONPATH warning names, at most: a folder of hundreds is said with a count of the rest.
_PYTHONPATH_NAMED = 12


def pythonpath_warnings(
    environ: Mapping[str, str], packages: Iterable[PythonPackage], redact: PathRedactor
) -> list[str]:
    """A warning for each ``PYTHONPATH`` folder holding distributions that import ahead of the environment's (the
    packages are read with ``python -E``, the environment itself, so the lock records those): another version of a
    recorded one, or one the lock does not record (``pythonpath_ahead``)."""
    return [
        f"python: PYTHONPATH: {folder} holds distributions that import ahead of the environment's: {listed}; the lock "
        "records the environment without PYTHONPATH"
        for folder, listed in pythonpath_ahead(environ, packages, redact)
    ]


def pythonpath_ahead(
    environ: Mapping[str, str], packages: Iterable[PythonPackage], redact: PathRedactor
) -> list[tuple[str, str]]:
    """Each ``PYTHONPATH`` folder (redacted) holding distributions that import ahead of the environment's, with
    those that differ from ``packages`` (the lock's) listed: another version of a recorded one, or one the lock does
    not record (``alpha 2.0 (the lock records 1.0), beta 3.0 (not in the lock)``). Names and versions as the
    ``.dist-info`` and ``.egg-info`` folder names write them (``pip install --target`` leaves them there); nothing is
    read inside them. Control characters are taken out of both: they are shown."""
    from .. import grammar
    from ..report import first_few
    from ._pyprobe import canonical_name

    recorded = {p.name: p.version for p in packages}
    seen: set[str] = set()
    out = []
    for folder in pythonpath_folders(environ):
        names = pythonpath_distributions(folder)
        if names is None:
            continue
        ahead = []
        for entry in names:
            stem = entry[: -len(".dist-info")] if entry.endswith((".dist-info", ".egg-info")) else ""
            raw_name, _, rest = stem.partition("-")
            name, version = canonical_name(raw_name), rest.split("-", 1)[0]
            if not (name and version) or name in seen:
                continue
            seen.add(name)
            if name not in recorded:
                ahead.append(f"{name} {version} (not in the lock)")
            elif recorded[name] != version:
                ahead.append(f"{name} {version} (the lock records {recorded[name]})")
        if ahead:
            listed = first_few(ahead, _PYTHONPATH_NAMED)
            out.append((grammar.strip_control(redact.path(folder)), grammar.strip_control(listed)))
    return out


# A .pth file read for the folders it adds, at most: site-packages' own are a few lines each.
_PTH_BYTES = 64 * 1024


def pth_folders(raw: RawPython) -> list[tuple[str, str]]:
    """Each folder a ``.pth`` file in one of the interpreter's ``sys.path`` folders puts on ``sys.path`` that the
    lock cannot stand for, with that file: no distribution is installed in it, it is no editable install's folder
    (nor inside one: hatchling's ``_editable_impl_NAME.pth`` names the project's ``src/``), and it is not inside the
    folder of the ``.pth`` (a distribution's own, such as pywin32's). Imports read its modules, and the lock names
    none of them: a rebuild leaves them out (``echo /data/mods > site-packages/mods.pth``). Only the lines the
    interpreter reads as folders are read (not ``import`` lines), and only a folder on the probe's ``sys.path`` is
    named, so a ``.pth`` the interpreter did not process (outside a site folder) names nothing."""
    from .. import errors
    from .._readlimits import read_bytes

    on_path = {os.path.realpath(entry): entry for entry in raw.path_entries}
    # Each site folder once: a venv's 149 distributions name one (149 realpath calls, twice a verify, were 5 ms).
    known = {os.path.realpath(site) for site in {info.site_dir for info in raw.packages if info.site_dir}}
    editable = [os.path.join(os.path.realpath(f), "") for info in raw.packages if (f := editable_folder(info))]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in raw.path_entries:
        try:
            names = sorted(n for n in os.listdir(entry) if n.endswith(".pth"))
        except OSError:
            continue
        inside = os.path.join(os.path.realpath(entry), "")
        for name in names:
            pth = os.path.join(entry, name)
            try:
                text = read_bytes(pth, error=errors.ProbeError, limit=_PTH_BYTES).decode("utf-8", "replace")
            except (OSError, errors.EnvsnapError):
                continue
            for line in text.splitlines():
                line = line.rstrip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                folder = os.path.realpath(os.path.join(entry, line))
                if folder not in on_path or folder in known or folder in seen:
                    continue
                here = os.path.join(folder, "")
                if here.startswith(inside) or any(here.startswith(e) for e in editable):
                    continue
                seen.add(folder)
                out.append((pth, on_path[folder]))
    return out


# What ``pth_folder_digest`` reads of a folder, at most: beyond it the folder is compared by path alone (capture
# says so). Every capture and verify reads them again: at the limits, about 0.15 s (docs/design.md).
PTH_DIGEST_DEPTH = 4  # package folders below the .pth folder
PTH_DIGEST_FILES = 2000
PTH_DIGEST_BYTES = 16 * 1024 * 1024
PTH_LIMITS = f"more than {PTH_DIGEST_FILES:,} module files or {PTH_DIGEST_BYTES >> 20} MiB of them"
PTH_OVER = f"holds {PTH_LIMITS}, or cannot be listed: verify cannot check its modules, and says so"


def _literal(text: str) -> str:
    """``text`` as a regular expression matching it as written (``re.escape``, without importing ``re``)."""
    return "".join("\\" + c if c in ".^$*+?{}[]\\|()" else c for c in text)


# Where each capture warning of ``warning_shown`` names a path: named groups, in the order they stand. A path holds any
# character but a line break, so each ends at the words the warning puts after it.
_PATH_WARNINGS = (
    LazyPattern(
        r"python: \.pth: (?P<pth>.+?\.pth) puts (?P<folder>.+) on sys\.path, and no distribution is installed "
    ),
    LazyPattern(r"python: \.pth: (?P<folder>.+) " + _literal(PTH_OVER) + "$"),
    LazyPattern(r"python: PYTHONPATH: (?P<folder>.+?) holds distributions that import ahead of the environment's: "),
    LazyPattern(
        r"python: (?:broken-dist|shadowed|duplicate): (?P<path>.+?(?:\.dist-info|\.egg-info|EGG-INFO|\.egg)): "
    ),
    LazyPattern(r"python: [^:]+: its editable checkout (?P<path>.+?)" + _literal(EDITABLE_DIRTY)),
    LazyPattern(r"conda: --prefix (?P<path>.+?) is not the captured interpreter's environment: "),
)


# What verify says of such a folder (``compare.verify``): there is no option or variable to raise the limits.
PTH_UNCHECKED = (
    f"are not checked: the folder is too large to be checked ({PTH_LIMITS}, the limits of its digest, which no "
    "option changes), or cannot be listed"
)
# The files whose change changes what ``import`` reads from the folder: sources and extension modules.
_MODULE_SUFFIXES = (".py", ".so", ".pyd")


def pth_folder_files(folder: str) -> tuple[list[tuple[str, str]], list[str]] | None:
    """The module files ``folder`` (a ``pth_folders`` folder) holds, as ``import`` finds them, each as its path from
    the folder (``/``-separated) and its path, with every folder looked in: each ``*.py``, ``*.so`` and ``*.pyd``
    file in it and in the package folders below it (a name ``import`` can read: an identifier, not
    ``__pycache__``), at most ``PTH_DIGEST_DEPTH`` levels down. ``None`` where it holds more than
    ``PTH_DIGEST_FILES`` such files or ``PTH_DIGEST_BYTES`` of them, or cannot be listed. The digest reads them,
    and the capture and verify memos stamp them (``memo.watch_of``): their stamps of the folder's top-level files
    alone let an answer kept before an edit in a package below it stand."""
    found: list[tuple[str, str]] = []
    looked = [folder]
    pending = [("", folder, 0)]
    total = 0
    while pending:
        rel, path, depth = pending.pop()
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            if not rel:
                return None
            continue
        for entry in entries:
            name = f"{rel}{entry.name}"
            try:
                if entry.is_dir():
                    if depth < PTH_DIGEST_DEPTH and entry.name.isidentifier() and entry.name != "__pycache__":
                        pending.append((f"{name}/", entry.path, depth + 1))
                        looked.append(entry.path)
                    continue
                if not entry.name.endswith(_MODULE_SUFFIXES) or not entry.is_file():
                    continue
                total += entry.stat().st_size
            except OSError:
                continue
            if len(found) >= PTH_DIGEST_FILES or total > PTH_DIGEST_BYTES:
                return None
            found.append((name, entry.path))
    return sorted(found), looked


def pth_folder_digest(folder: str) -> str:
    """``sha256:`` of the module files ``folder`` holds (``pth_folder_listing``); ``""`` where it gives none (over
    the limits, or not listed): that folder is compared by path alone, as before the digest."""
    listing = pth_folder_listing(folder)
    return "" if listing is None else pth_listing_digest(listing)


def pth_folder_listing(folder: str) -> tuple[str, ...] | None:
    """The module files ``folder`` holds (``pth_folder_files``), one entry each, sorted by path: ``PATH SIZE SHA256``
    (``PATH`` from the folder, ``/``-separated), or ``PATH - unreadable`` for a file that cannot be read, so it
    differs from the one read; ``None`` where ``pth_folder_files`` gives none (over the limits, or not listed). The
    lock records it (``python.pth_folders.files``) for verify to name the first file that changed."""
    from .._defaults import sha256_hex

    listed = pth_folder_files(folder)
    if listed is None:
        return None
    out = []
    for name, path in listed[0]:
        data = _regular_bytes(path)
        out.append(f"{name} - unreadable" if data is None else f"{name} {len(data)} {sha256_hex(data)}")
    return tuple(out)


def pth_listing_digest(listing: tuple[str, ...]) -> str:
    """The digest of a ``pth_folder_listing``: one line of each file's path, its size and its sha256
    (``PATH\\0SIZE\\0SHA256``, or ``PATH\\0unreadable``), in its order, and the sha256 of their UTF-8 text. Verify
    takes a lock's ``files`` only where they give its ``digest``."""
    from .._defaults import sha256_hex

    lines = []
    for entry in listing:
        name, size, sha = entry.rsplit(" ", 2)
        lines.append(f"{name}\0unreadable\n" if sha == "unreadable" else f"{name}\0{size}\0{sha}\n")
    return "sha256:" + sha256_hex("".join(lines).encode("utf-8", "surrogateescape"))


def _regular_bytes(path: str) -> bytes | None:
    """The bytes of ``path`` where it is a regular file (a link to one followed), at most ``PTH_DIGEST_BYTES``; else
    ``None``. Opened non-blocking and checked before a byte is read: a FIFO named ``x.py`` would wait forever."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(PTH_DIGEST_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def pth_folder_shown(pth: str, folder: str, redact: PathRedactor) -> tuple[str, str]:
    """A ``.pth`` file and the folder it adds (``pth_folders``) as the lock records them: redacted, one line each."""
    from .. import grammar

    return grammar.strip_control(redact.path(pth)), grammar.strip_control(redact.path(folder))


def pth_folder_note(pth: str, folder: str, redact: PathRedactor) -> str:
    """What is said of a folder ``pth`` puts on ``sys.path`` (``pth_folders``), paths redacted and shown."""
    return pth_folder_said(*pth_folder_shown(pth, folder, redact))


def pth_folder_said(shown_pth: str, shown_folder: str) -> str:
    """``pth_folder_note`` of a ``.pth`` file and folder already as shown (a ``PthFolder`` entry)."""
    text = f"{shown_pth} puts {shown_folder} on sys.path, and no distribution is installed there: "
    return text + "the modules imported from it are not in the lock, and a rebuild leaves them out"


def probe(ctx: ProbeContext) -> ProbeResult[PythonEnv]:
    """The Python layer; distributions a conda record lists are marked ``conda_managed``."""
    from ..model import PythonEnv
    from . import conda as conda_probe

    if not ctx.options.python_layer:
        return ProbeResult(PythonEnv())
    env, warnings = python_env(ctx.python, ctx.redact, ctx.project_root)
    warnings += pythonpath_warnings(ctx.environ, env.packages, ctx.redact)
    layer = ctx.value_of(conda_probe.PROBE)
    if layer is not None:
        env = conda_probe.mark_conda_managed(env, ctx.python.packages, layer)
    owner = interpreter_package(ctx.python, ctx.database)
    if owner:
        env = dataclasses.replace(env, system_package=owner)
    return ProbeResult(debian_owned(env, ctx.python, ctx.database), tuple(warnings))


def debian_owned(env: PythonEnv, raw: RawPython, database: PackageDatabase) -> PythonEnv:
    """``env`` with each distribution a dpkg package installed (its metadata folder in that package's list, and no
    installer's ``INSTALLER`` but Debian's: absent, or ``debian``) naming that package, ``system_package``: Debian's
    ``python3-yaml`` built ``PyYAML-6.0.dist-info`` itself, so an index file of the same name and version is not it.
    Each also records the headers of its metadata that say which project it is (``identity``), which pin compares
    with the index's file before that file stands in for it."""
    installer = {p.name: _installer(p.installer) for p in raw.packages}
    dirs = {p.name: p.dist_dir for p in raw.packages if p.dist_dir and installer[p.name] in ("", "debian")}
    owners = database.dist_owners(dirs.values()) if dirs else {}
    if not owners:
        return env
    packages = tuple(
        dataclasses.replace(p, system_package=owners[dirs[p.name]], identity=installed_identity(dirs[p.name]))
        if p.name in dirs and dirs[p.name] in owners and not p.conda_layer
        else p
        for p in env.packages
    )
    return dataclasses.replace(env, packages=packages)


def installed_identity(dist_dir: str) -> tuple[str, ...]:
    """The identifying headers (``_sameproject.identity``) of an installed distribution's metadata: a
    ``.dist-info``'s ``METADATA``, an ``.egg-info`` folder's ``PKG-INFO``, or a single-file ``.egg-info`` itself;
    () where it cannot be read."""
    from .._sameproject import MAX_HEAD, header_text, identity

    if os.path.isdir(dist_dir):
        dist_dir = os.path.join(dist_dir, "METADATA" if dist_dir.endswith(".dist-info") else "PKG-INFO")
    try:
        with open(dist_dir, "rb") as handle:
            return identity(header_text(handle.read(MAX_HEAD)))
    except (OSError, ValueError):
        return ()


def interpreter_package(raw: RawPython, database: PackageDatabase) -> str:
    """The Debian package of the interpreter's CPython release (``python3.11-minimal``, ...) whose md5sums list
    the interpreter's executable, links resolved (for a venv, its base's: the venv's ``bin/python`` is a link to it,
    or a copy beside ``{base_prefix}/bin/pythonX.Y``); "" for an interpreter of its own (pyenv, uv, a conda or a
    source build, even of the same version beside Debian's), or without dpkg. What ``verify`` asks before it calls
    a Debian update of those packages a patch of the environment's interpreter."""
    from ..platforms import interpreter_debs, major_minor

    if raw.implementation != "cpython" or not raw.version or not raw.executable:
        return ""
    paths = [os.path.realpath(raw.executable)]
    if raw.base_prefix and raw.base_prefix != raw.prefix and not os.path.islink(raw.executable):
        paths.append(os.path.realpath(os.path.join(raw.base_prefix, "bin", f"python{major_minor(raw.version)}")))
    return database.owner_among(paths, interpreter_debs(raw.version))


class PythonProbe(Probe["PythonEnv"]):
    name = "python"

    def run(self, ctx: ProbeContext) -> ProbeResult[PythonEnv]:
        return probe(ctx)


PROBE = PythonProbe()


def _relative(path: str, prefix: str) -> str:
    try:
        rel = os.path.relpath(path, prefix)
    except ValueError:
        return os.path.basename(path)
    return os.path.basename(path) if rel.startswith("..") else rel
