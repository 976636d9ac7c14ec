from __future__ import annotations

import argparse
import os
from importlib import import_module

from ..errors import ExportError, UsageError
from . import COMMAND_HELP, PathValue, _output, add_allow_url

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Any

    from ..artifacts.bundle import Bundle
    from ..export.interface import Exporter
    from ..model import Snapshot


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help=COMMAND_HELP["export"],
        description="Write a lock in a format other tools read. `envsnap export --list` names the formats.",
    )
    p.add_argument(
        "lock",
        type=PathValue("lockfile"),
        metavar="LOCK",
        nargs="?",
        help="the lockfile, or a bundle (directory or archive): its lock is exported",
    )
    p.add_argument("-f", "--format", metavar="FORMAT", help="the output format (see --list)")
    p.add_argument(
        "-o",
        "--output",
        type=PathValue("file or folder to write"),
        metavar="PATH",
        help="where to write (default: the format's usual file name, e.g. pylock.toml); "
        "'-' prints "
        "a single-file format to stdout; a directory for multi-file formats",
    )
    p.add_argument(
        "--bundle",
        type=PathValue("bundle"),
        metavar="DIR",
        help="for pylock and requirements of LOCK: the bundle folder made of it (envsnap bundle LOCK -o DIR), whose "
        "wheels the file names by path and sha256, so it installs from the bundle offline",
    )
    p.add_argument("--list", action="store_true", help="name every format with its description and exit")
    p.add_argument(
        "--absolute-paths",
        action="store_true",
        help="write local projects ({project}, ~) as absolute "
        "paths on this machine, so the file installs from any folder (default: relative to the project "
        "root, with a comment saying the file must sit there)",
    )
    p.add_argument(
        "--project",
        type=PathValue("project folder"),
        metavar="DIR",
        help="the project root {project} means, for --absolute-paths and for pinning "
        "(default: the git work tree around the working directory, else the lock's folder)",
    )
    pin = p.add_mutually_exclusive_group()
    pin.add_argument(
        "--pin",
        dest="pin",
        action="store_true",
        default=None,
        help="pin unpinned artifacts first (as `envsnap pin` does), failing if pinning is "
        "unavailable (default: pin when needed and available)",
    )
    pin.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="never look artifacts up; fail naming the unpinned packages instead",
    )
    add_allow_url(p, "for the pinning it does first: ")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import export
    from ..export.interface import UnpinnedError, unpinned

    if args.list:
        for name, exporter in export.exporters().items():
            _output.say(f"{name:<16} {exporter.description} [{exporter.filename}]", err=False)
        return 0
    if args.lock == "" and args.format:
        from .._readlimits import empty_path

        raise ExportError(empty_path("lockfile"))
    if not args.lock or not args.format:
        raise ExportError("export needs LOCK and --format FORMAT (or --list)")
    if args.allow_url and args.pin is False:
        raise UsageError("--allow-url is for the pinning export does: --no-pin reads no URL")
    exporter = export.get(args.format)
    if args.bundle is not None:
        _refuse_bundle_option(args.bundle, exporter.name)
    if exporter.directory:  # the folder it writes is known now, before the lock is pinned (a download)
        _refuse_over_input({Path(args.output or exporter.filename): b""}, args.lock, files=False)
        _refuse_over_user_files(exporter, args.output)
    else:  # the one file it writes, likewise
        _refuse_over_input(_targets(exporter, {exporter.filename: b""}, args.output), args.lock)
        _refuse_over_user_files(exporter, args.output)
    if args.bundle is not None:  # nor into the bundle the wheels are named in
        _refuse_over_input(_targets(exporter, {exporter.filename: b""}, args.output), args.bundle)
    from ._lockarg import load_lock_or_bundle

    appendix: list[Any] = []  # an artifact bundle's facts, for its appendix (``markdown``, ``latex``)
    if exporter.name in ("markdown", "latex"):

        def read_artifact(bundle: Bundle) -> None:
            from ..paper.artifact import appendix_facts

            appendix.extend(appendix_facts(bundle))

        snapshot, bundled = load_lock_or_bundle(args.lock, read_artifact)
    else:
        snapshot, bundled = load_lock_or_bundle(args.lock)
    if exporter.name in _CONDA_FORMATS:
        from ..export import require_conda_layer

        # Before the bundle's folder and pinning are judged: a pip lock in a folder whose path has " #" was told to
        # move the folder, and then that it has no conda packages.
        require_conda_layer(snapshot, exporter.name)
    failures: list[str] = []
    unlisted: dict[str, str] = {}  # a failure no configured location lists: its installer, for the hint after the list
    not_from_wheels: list[str] = []
    if args.bundle is not None:
        if bundled:
            raise UsageError(
                f"--bundle {args.bundle}: {args.lock} is a bundle itself, whose own wheels the file names: "
                "give one or the other"
            )
        from ..export import with_bundle_wheels

        # The lock's bundle, checked as rebuild --bundle checks it: its wheels by path and hash, as for a bundle folder.
        snapshot = with_bundle_wheels(
            _with_bundle_files(snapshot, args.bundle, args.project, args.lock),
            Path(args.bundle) / "wheels",
            index_wheels=exporter.name in ("pylock", "requirements"),
            as_find_links=exporter.name == "requirements",
        )
    if exporter.name in ("pylock", "requirements") and bundled and Path(args.lock).is_dir():
        from ..export import with_bundle_wheels

        # A bundle directory: its built wheels by path and hash, so pip installs the file too (see docs/cli.md);
        # before --absolute-paths, which then needs no project for what the bundle built.
        snapshot = with_bundle_wheels(
            snapshot,
            Path(args.lock) / "wheels",
            index_wheels=exporter.name in ("pylock", "requirements"),
            as_find_links=exporter.name == "requirements",
        )
    held = _bundle_folder(args.lock, bundled) if args.bundle is None else None
    if held is not None and exporter.name in _BUNDLE_WHEEL_FORMATS:
        from ..export import with_bundle_find_links

        # A bundle's lock keeps the author's find-links folder (file://{project}/conda/wheels), which beside the
        # bundle names nothing: the bundle's wheels folder holds those files. So does the project's own folder
        # (file://{project}): a conda format named it (exit 2 for its label, else a folder the reviewer has not).
        snapshot = with_bundle_find_links(snapshot, Path(held) / "wheels")
    snapshot, seeded, upstream = _seed_wheels_placed(snapshot, exporter.name, args.lock, bundled, args.output)
    if exporter.name in ("pylock", "requirements") and bundled and not Path(args.lock).is_dir():
        from ..export import bundle_wheel_packages

        # An archive's wheels lie in a temporary folder only while it is read: named as the lock records them.
        not_from_wheels = [f"{p.name} {p.version}" for p in bundle_wheel_packages(snapshot) if p.name not in seeded]
    if exporter.name in _BUNDLE_WHEEL_FORMATS - {"requirements"} and bundled and not Path(args.lock).is_dir():
        from ..export import find_links_folder_packages

        # Its --find-links is the author's folder, the bundle's wheels being in a temporary folder only while read.
        not_from_wheels = [f"{p.name} {p.version}" for p in find_links_folder_packages(snapshot)]
    paths_project, unsure = _project_for_paths(args.project, args.lock, bundled) if args.absolute_paths else (None, "")
    if args.absolute_paths:
        from ..export import with_absolute_paths

        snapshot = with_absolute_paths(snapshot, paths_project, unsure=unsure)
    listed = exporter.takes_listed_files
    if (
        exporter.needs_artifacts
        and unpinned(snapshot, files=exporter.needs_files, listed=listed)
        and args.pin is not False
    ):
        from ..probes.project import project_root

        # Where {project} is, as for pin: a local project there is kept as it is, not a package left without a file.
        project = project_root(args.project, args.lock if Path(args.lock).is_file() else None)
        snapshot, failures, unlisted = pin_for_export(
            snapshot, required=bool(args.pin), project_dir=project, allow_urls=tuple(args.allow_url)
        )
        if args.absolute_paths:
            from ..export import with_absolute_paths

            # What pinning found in a folder of the project (file://{project}/wheels/x.whl) is made absolute too.
            snapshot = with_absolute_paths(snapshot, paths_project, unsure=unsure)
        # What pinning found in a seed folder (a Debian venv's pip) is recorded by name and sha256: named too.
        snapshot, _named, pinned_upstream = _seed_wheels_placed(
            snapshot, exporter.name, args.lock, bundled, args.output
        )
        upstream |= pinned_upstream
    # The base name of the one file written (``-o ci/ci.txt``: ci.txt), for a format naming itself in its text.
    single = {} if exporter.directory else _targets(exporter, {exporter.filename: b""}, args.output)
    written_as = next((target.name for target in single), "")
    if exporter.name == "requirements" and single and not args.absolute_paths:
        # Installed from the project root where it names local projects from there: named as pip reads it there.
        written_as = _named_from_the_root(next(iter(single)), snapshot, args.lock) or written_as
    try:
        if appendix and appendix[0] is not None:
            # The artifact part the bundle's own appendix has (the DOI, SWHID, grade, run records' variables).
            from ..export.appendix import artifact_files

            files = artifact_files(exporter.name, snapshot, appendix[0])
        else:
            files = exporter.render(
                snapshot,
                lock_name=lock_file_name(args.lock, bundled),
                file_name=written_as,
                bundled=bundled,
                lock_path=args.lock,
            )
    except UnpinnedError as exc:
        # Those the format refused: pinning may also have left a package it writes as it is (a wheel by its URL).
        failures = [f for f in failures if not exc.packages or f.split(" ", 1)[0] in exc.packages]
        if not failures:
            raise
        # Pinning ran: "run envsnap pin first" would send the user round in a circle; say why it failed. Only
        # then: a format's other refusal (a lock without conda packages, a conda package without md5) is its own.
        raise ExportError(f"{exporter.name}: {_pinning_left(failures, unlisted)}") from exc
    _refuse_over_input(_targets(exporter, files, args.output), args.lock)
    _refuse_over_user_files(exporter, args.output)  # again: pinning took a while
    written = write(exporter, files, args.output)
    if appendix and appendix[1]:
        unread = ", ".join(appendix[1])
        _output.say(
            f"note: the bundle's own {exporter.filename} has its artifact part in full: {unread} could not be read "
            "from the bundle's files"
        )
    if written:
        from ..probes.gitstate import remember_exports

        # Written in a work tree, they are envsnap's output while unchanged and untracked (docs/design.md).
        remember_exports([str(p) for p in written])
        _output.say(f"wrote {', '.join(str(p) for p in written)} ({exporter.name})")
    # Printed (``-o -``), the text is the file's all the same (a reviewer's ``-o - > req.txt``): every note a file
    # gets, naming standard output where it names the file (they were left out: the text said nothing of them).
    shown: list[Path | str] = [*written] if written else [_STANDARD_OUTPUT]
    if not_from_wheels:
        _note_archive(args.lock, not_from_wheels, shown)
    else:
        _note_placement(snapshot, exporter, shown, args.absolute_paths, args.lock)
    if exporter.name == "pylock":
        _note_pylock_name(shown)
    if exporter.name in _PLACEMENT:
        _note_editable_vcs(snapshot, shown)
    if exporter.name in _FIND_LINKS_FORMATS:
        _note_hidden_find_links(snapshot, shown, _FIND_LINKS_FORMATS[exporter.name], exporter.filename)
    if exporter.name == "requirements" and not bundled:  # a bundle's: its wheels, or _note_archive says why not
        _note_named_only(snapshot, args.lock, shown, upstream)
    if exporter.name in _CONDA_FORMATS:
        _note_unknown_pip_layer(snapshot, exporter.name, shown)
    # A format that writes a package with no file all the same (environment-yml without hashes, conda-explicit
    # in a comment): why pinning found none was said nowhere, and the file's comment sent the user to pin.
    left = {p.name for p in unpinned(snapshot, files=exporter.needs_files, hashes=True, listed=listed)}
    unhashed = [f for f in failures if f.split(" ", 1)[0] in left]
    if unhashed:
        how = "named in a comment only" if exporter.name == "conda-explicit" else "written without a hash"
        _output.say(f"note: {exporter.name}: {_pinning_left(unhashed, unlisted)}; {how}")
    return 0


# What a note names where the export printed its text (``-o -``) rather than writing a file.
_STANDARD_OUTPUT = "standard output"


def _pinning_left(failures: list[str], unlisted: dict[str, str]) -> str:
    """What pinning left without a file and why (``name version: reason``, three at most), with the --find-links
    hint ``pin`` gives, once, naming the installer(s) of those no configured location lists."""
    more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
    installers = [unlisted[f] for f in failures if f in unlisted]
    hint = f" ({import_module('envsnap.artifacts.pin').find_links_hint(installers)})" if installers else ""
    return f"pinning left {len(failures)} package(s) without a file: {'; '.join(failures[:3])}{more}{hint}"


_CONDA_FORMATS = ("conda-explicit", "conda-lock", "environment-yml")


def _note_unknown_pip_layer(snapshot: Snapshot, fmt: str, written: Sequence[Path | str]) -> None:
    """A note where the lock does not know all its pip packages (imported from an explicit file): the Python-layer
    formats refuse it and name the conda formats, which wrote the file without a word, one that looks whole (a
    conda-lock.yml says so in its ``custom_metadata``, which envsnap's import reads, but conda-lock does not)."""
    if "python.packages" not in snapshot.envsnap.unknown:
        return
    origin = snapshot.envsnap.origin or "another format"
    n = len([p for p in snapshot.python.packages if not p.conda_layer])
    said = (
        f"holds the {n} pip package{'s' if n != 1 else ''} the lock records, not all: the lock's pip layer is "
        f"incomplete (imported from {origin}), so the rest are not in it"
        if n
        else f"holds no pip package: the lock does not record the packages pip installed (imported from {origin}), "
        "so none of them is in it"
    )
    for path in written:
        _output.say(f"note: {path} {said}")


def _refuse_bundle_option(bundle: str, fmt: str) -> None:
    """Exit 2, before the lock is read, for a ``--bundle`` the export cannot name the wheels of: for a format that
    names no wheel file (only ``pylock`` and ``requirements`` do), or an archive, whose wheels are on disk only while
    it is read (as the note of an archive given as LOCK says)."""
    from .. import sinks
    from .._readlimits import unpack_beside

    if fmt not in ("pylock", "requirements"):
        raise UsageError(
            f"--bundle: {fmt} names no wheel file; --bundle is for pylock and requirements (export the bundle itself "
            f"for its {fmt}: envsnap export DIR --format {fmt})"
        )
    if os.path.isfile(bundle):
        # The user's paths, not the lock's: a newline in the folder's name is bash's $'\x0a' (shell_word refuses it).
        unpack, folder = unpack_beside(bundle)
        raise UsageError(
            f"--bundle {bundle}: an archive, whose wheels are on disk only while it is read, and the file names them "
            f"by path: unpack it ({unpack}) and give the folder it holds (--bundle {sinks.shell_shown([folder])})"
        )


def _with_bundle_files(snapshot: Snapshot, bundle: str, project: str | None, lock: str) -> Snapshot:
    """``snapshot`` with each Python package's file the one the bundle folder ``bundle`` holds for it: the bundle is
    checked in full against its SHA256SUMS and refused, exit 2, unless it was made from this lock (the packages,
    versions and RECORD digests, and every wheel the lock pins: ``check_made_from``, as ``rebuild --bundle``), so
    a lock that is not pinned takes the files the bundle pinned and built. ``project`` (``--project``) and the lock's
    folder say what ``{project}`` names, as for pin, so one folder written two ways is one source."""
    import dataclasses
    import tempfile
    from pathlib import Path

    from .. import _leftovers, sinks
    from ..artifacts.bundle import check_made_from, open_bundle

    # Held as envsnap's, as ``_lockarg``'s: one a run killed in the bundle's check left is one `envsnap clean` removes.
    with _leftovers.held_dir(Path(tempfile.gettempdir()), "bundle") as tmp:
        bundled = open_bundle(bundle, tmp).lock
    from ..probes.project import project_root

    project_dir = project_root(project, lock if Path(lock).is_file() else None)
    check_made_from(snapshot, bundled, bundle, project_dir=project_dir, lock_arg=sinks.path_shown(lock))
    packages = []
    for pkg in snapshot.python.packages:
        theirs = bundled.package(pkg.name)
        if theirs is not None and theirs.artifact is not None:
            pkg = dataclasses.replace(pkg, artifact=theirs.artifact)
        packages.append(pkg)
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, packages=tuple(packages)))


def _seed_wheels_placed(
    snapshot: Snapshot, fmt: str, lock: str, bundled: bool, output: str | None
) -> tuple[Snapshot, set[str], set[str]]:
    """``_with_seed_wheels`` for the formats that name a file (``pylock``, ``requirements``), then, for pylock,
    the refusal of what no seed folder here holds (``_refuse_named_only``); every other format's snapshot as it is."""
    if fmt not in ("pylock", "requirements"):
        return snapshot, set(), set()
    placed = _with_seed_wheels(snapshot, fmt)
    if fmt == "pylock":
        _refuse_named_only(placed[0], lock, bundled, output)
    return placed


def _with_seed_wheels(snapshot: Snapshot, fmt: str) -> tuple[Snapshot, set[str], set[str]]:
    """The snapshot with each package known by a wheel's name and sha256 alone named by the file of this machine's
    seed-wheel folders with that sha256 (``with_seed_wheels``), the names of those it names so, and of those it
    leaves for an index: for ``requirements``, a file of this Python's ``ensurepip/_bundled``, an upstream wheel PyPI
    serves by that hash (a path there, under a pyenv in the home, would tie the file to this machine). A build
    without pinning (``envsnap.artifacts.pin`` missing) has no seed folders to look in."""
    from ..export import named_only, with_seed_wheels

    named = named_only(snapshot)
    if not named:
        return snapshot, set(), set()
    try:
        pin = import_module("envsnap.artifacts.pin")
    except ImportError:
        return snapshot, set(), set()
    found = pin.seed_wheels(p.artifact.sha256 for p in named if p.artifact is not None)
    bundled = os.path.realpath(pin.ensurepip_wheel_dir())
    upstream = {sha for sha, path in found.items() if os.path.realpath(path.parent) == bundled}
    if fmt == "requirements":
        found = {sha: path for sha, path in found.items() if sha not in upstream}
    names = {p.name: p.artifact.sha256 for p in named if p.artifact is not None}
    seeded = {name for name, sha in names.items() if sha in found}
    return with_seed_wheels(snapshot, found), seeded, {n for n, sha in names.items() if sha in upstream} - seeded


def _seed_folders() -> str:
    """This machine's seed-wheel folders, as a refusal or a note names them ("none here" without any)."""
    try:
        pin = import_module("envsnap.artifacts.pin")
    except ImportError:
        return "none here"
    return ", ".join(pin.seed_wheel_dirs()) or "none here"


def _note_named_only(snapshot: Snapshot, lock: str, written: Sequence[Path | str], upstream: set[str]) -> None:
    """A note for the packages a requirements file pins by name and sha256 alone: seed wheels of the machine that
    pinned the lock no seed folder here holds (``upstream``: those this Python's ensurepip holds, which an index
    serves, are not said). An index serves the file of ensurepip's upstream wheels, never a distribution's rebuild
    (Debian's pip): pip then fails on a hash mismatch."""
    from .. import sinks
    from ..export import named_only

    named = [f"{p.name}=={p.version}" for p in named_only(snapshot) if p.name not in upstream]
    if not named:
        return
    word = sinks.shell_shown([lock])  # the user's path: shell_word refuses a newline in it
    for path in written:
        _output.say(
            f"note: {path} pins {', '.join(named[:8])} by name and sha256 alone: a seed wheel of the machine that "
            f"pinned the lock, and no wheel with that sha256 is in this machine's seed-wheel folders "
            f"({_seed_folders()}); an index serves it only when it is the upstream file (a Linux distribution's "
            f"rebuild of pip or setuptools is on none): export on a machine that has the file, or make a bundle "
            f"(`envsnap bundle {word} -o DIR`) and export its folder"
        )


def _refuse_named_only(snapshot: Snapshot, lock: str, bundled: bool, output: str | None) -> None:
    """Exit 2 naming the exact commands that write the pylock when packages of the lock are known by a wheel's name
    and sha256 alone (``bundle --offline`` of a fresh venv: pip and setuptools from ensurepip), which only a bundle
    folder's wheels give a place: that of the lock's own bundle folder, of the folder an archive unpacks to, or of a
    bundle made of the lock first. A bundle folder given as LOCK names its wheels already (``with_bundle_wheels``)."""
    from .. import sinks
    from .._readlimits import unpack_beside
    from ..artifacts.bundle import bundle_holding
    from ..export.pylock import named_only, named_only_message

    named = named_only(snapshot)
    if not named:
        return
    # The user's paths, not the lock's: a newline in one is bash's $'\x0a' (shell_word refuses it).
    tail = f" --format pylock{f' -o {sinks.shell_shown([output])}' if output else ''}"
    folder = None if bundled else bundle_holding(lock)
    if bundled and not os.path.isdir(lock):
        unpack, unpacked = unpack_beside(lock)
        how = (
            f"unpack the archive ({unpack}) and export the bundle folder it holds, "
            f"whose wheels they are: `envsnap export {sinks.shell_shown([unpacked])}{tail}`"
        )
    elif folder is not None:
        how = (
            "export the bundle folder holding the lock, whose wheels they are: "
            f"`envsnap export {sinks.shell_shown([folder])}{tail}`"
        )
    else:
        how = (
            f"make a bundle of the lock, which holds their wheels, and export its folder: "
            f"`envsnap bundle {sinks.shell_shown([lock])} -o DIR`, then `envsnap export DIR{tail}`"
        )
    here = f"no wheel with that sha256 is in this machine's seed-wheel folders ({_seed_folders()}): {how}"
    raise ExportError(named_only_message(named, here))


def _bundle_folder(lock: str, bundled: bool) -> str | None:
    """The bundle folder ``lock`` is (given as LOCK) or holds the lock of (``BUNDLE/envsnap.lock``); None for an
    archive, whose wheels are on disk only while it is read, and for a lock of no bundle."""
    from ..artifacts.bundle import bundle_holding

    if bundled:
        return lock if os.path.isdir(lock) else None
    return bundle_holding(lock)


def _project_for_paths(project: str | None, lock: str, bundled: bool) -> tuple[Path | None, str]:
    """The project ``--absolute-paths`` writes ``{project}`` paths below, and why it is only a guess (see
    ``with_absolute_paths``): named, or the git work tree around the working directory, it is the project; outside
    any work tree a lock's folder stands for it, as for pin (the import wrote it so), but a lock written to standard
    output and saved elsewhere labelled another folder; the lock inside a bundle has no folder of its own."""
    from ..probes import gitstate
    from ..probes.project import project_root

    if project is not None or gitstate.find_root(".") is not None:
        return project_root(project), ""
    if bundled:
        return None, "and outside a git work tree the lock inside a bundle has no project"
    return project_root(None, lock), "the lock's folder, taken for the project outside a git work tree"


def _note_archive(archive: str, names: list[str], written: Sequence[Path | str]) -> None:
    """A note when a bundle archive's export names packages as the lock records them (a project, the author's
    find-links folder) where its folder's export names the bundle's wheels: the project-root advice, and its
    --absolute-paths, need the project, which a reviewer given the archive does not have."""
    from .. import sinks
    from .._readlimits import unpack_beside

    unpack, folder = unpack_beside(archive)
    for path in written:
        _output.say(
            f"note: {path} names {', '.join(names)} as the lock records them (the author's folder or project), not "
            f"by the bundle's wheels, which an archive does not leave on disk: unpack it ({unpack}) and export the "
            f"folder it holds, {sinks.shell_shown([folder])}, for a file that installs them from its wheels"
        )


# The formats that write a lock's find-links folders as pip's --find-links option, and how to give pip the folder
# when it installs from the file ({file}: the file written, a shell word).
_FIND_LINKS_FORMATS = {
    "requirements": "pip install --find-links DIR -r {file}, or PIP_FIND_LINKS=DIR",
    "environment-yml": "PIP_FIND_LINKS=DIR conda env create -f {file}",
}

# The formats that name the wheels of a bundle's folder (the find-links folders it holds, the wheels it built from
# the author's folders) by their path there, as ``with_bundle_find_links`` writes them.
_BUNDLE_WHEEL_FORMATS = frozenset({*_FIND_LINKS_FORMATS, "conda-lock", "conda-explicit"})


def _note_hidden_find_links(snapshot: Snapshot, written: Sequence[Path | str], advice: str, filename: str) -> None:
    """A note for each --find-links folder written with the login or host name the lock hides: pip skips a folder
    it cannot find without a word, so the file installs from the index alone, or fails naming no folder. Printed
    (``-o -``), the command names the file by the format's usual name (``filename``), as the text's header does."""
    from .. import sinks
    from ..export import hidden_find_links

    for path in written:
        file = sinks.shell_shown([filename if path == _STANDARD_OUTPUT else str(path)])  # the user's: may hold \n
        for location, hidden in hidden_find_links(snapshot):
            _output.say(
                f"note: {path} names --find-links {sinks.shell_word(location)}, without the {hidden} the lock leaves "
                f"out (docs/security.md), a folder pip skips without a word: give pip the folder itself "
                f"({advice.format(file=file)})"
            )


def _note_editable_vcs(snapshot: Snapshot, written: Sequence[Path | str]) -> None:
    """A note for each editable checkout of a repository (``pip install -e git+URL#egg=x``) a file installs as a
    regular install: PEP 751 has no editable VCS entry, uv installs none, and an environment installed from the file
    then verifies with a warning that the lock has a checkout there."""
    for path in written:
        for pkg in snapshot.python.packages:
            if pkg.source.kind == "vcs" and pkg.source.editable:
                _output.say(
                    f"note: {path} installs {pkg.name} from its repository as a regular install: the lock has an "
                    "editable checkout of it (pip install -e), which this file cannot say; verify will warn of it"
                )


def _note_pylock_name(written: Sequence[Path | str]) -> None:
    """A note when a PEP 751 file is written under a name the standard does not give it (uv refuses to read it);
    printed (``-o -``), the name it is saved under is the user's: the note says which names uv reads."""
    import re

    for path in written:
        if path == _STANDARD_OUTPUT:
            _output.say(
                f"note: {path}: PEP 751 names a lock file pylock.toml or pylock.NAME.toml: save it under such a name; "
                "uv refuses to install from another name (pip takes any)"
            )
        elif not re.fullmatch(r"pylock(\.[^.]+)?\.toml", os.path.basename(path)):
            _output.say(
                f"note: {path}: PEP 751 names a lock file pylock.toml or pylock.NAME.toml; "
                "uv refuses to install from another name (pip takes any)"
            )


# What a relative path in each format is read from, and so what makes the file install: pip reads a requirements
# file's paths from the working directory, PEP 751 a pylock's from the file's folder, and conda runs pip from the
# environment.yml's folder. Installing a pylock from the project root does not help; the file must sit there.
# ``{move}``: what to do with the file ("move it to"; "save it in" for text printed with ``-o -``).
_PLACEMENT = {
    "requirements": "pip reads them from the working directory: install from the project root",
    "pylock": "PEP 751 reads them relative to the file: {move} the project root",
    "environment-yml": "conda runs pip from the file's folder: {move} the project root",
}


def _note_placement(
    snapshot: Snapshot, exporter: Exporter, written: Sequence[Path | str], absolute: bool, lock: str
) -> None:
    """A note when a file naming local projects relative to the project root (outside any git work tree the lock's
    folder, as for pin) was written elsewhere; printed (``-o -``), where it is saved is not known: always."""
    from pathlib import Path

    from ..export import has_project_paths
    from ..probes.project import project_root

    advice = _PLACEMENT.get(exporter.name)
    if absolute or advice is None or not has_project_paths(snapshot):
        return
    root = project_root(None, lock if Path(lock).is_file() else None)
    for path in written:
        printed = path == _STANDARD_OUTPUT
        if printed or root is None or Path(path).absolute().parent.resolve() != root.resolve():
            _output.say(
                f"note: {path} names local projects relative to the project root "
                f"({root or 'unknown here'}): {advice.format(move='save it in' if printed else 'move it to')}, or "
                "export with --absolute-paths"
            )


def _named_from_the_root(target: Path, snapshot: Snapshot, lock: str) -> str:
    """The requirements file written to ``target`` as its header's ``pip install -r`` names it where it names local
    projects relative to the project root (``_note_placement``'s root), so that the command runs from there: its
    path from the root (``ci/ci.txt``; at the root its name), or, written outside the project, its absolute path,
    the home as ``~`` (``-r /tmp/req.txt``, ``-r ~/exports/req.txt``); "" for its name alone where it names no
    local project or no root is known (it installs from its own folder)."""
    from pathlib import Path

    from ..export import has_project_paths
    from ..probes.project import project_root

    if not has_project_paths(snapshot):
        return ""
    root = project_root(None, lock if Path(lock).is_file() else None)
    if root is None:
        return ""
    path = target.absolute().parent.resolve() / target.name
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        pass
    home = Path(os.path.expanduser("~"))
    for spelling in dict.fromkeys((home, home.resolve())):
        if str(spelling) not in ("/", "~") and path.is_relative_to(spelling):
            return "~/" + path.relative_to(spelling).as_posix()
    from .._privacy import host_names, login_names

    # A path naming the login or the host (``/scratch/alice/req.txt``), which a capture hides everywhere, is not
    # written into a file made to be shared: its name, as before, and the placement note says where to install from.
    hidden = {n.lower() for n in (*login_names(str(home)), *host_names()) if n}
    if any(part.lower() in hidden for part in path.parts):
        return ""
    return path.as_posix()


def lock_file_name(path: str, bundled: bool) -> str:
    """The name of the lock's file as its readers get it: a bundle's is always ``envsnap.lock``, a lock's its own
    (the appendix's commands name it: ``envsnap check env.lock``)."""
    from pathlib import Path

    from .._defaults import LOCK_NAME

    return LOCK_NAME if bundled else Path(path).name


def pin_for_export(
    snapshot: Snapshot, *, required: bool, project_dir: Path | None = None, allow_urls: tuple[str, ...] = ()
) -> tuple[Snapshot, list[str], dict[str, str]]:
    """The lock with its index packages pinned to their exact artifacts (``envsnap pin``'s work), why each package
    that could not be pinned was not (``name version: reason``), and for each such reason where no configured
    location lists the package, the installer that installed it, which the ``--find-links`` hint after the list
    names. ``project_dir``: what ``{project}`` means, and ``allow_urls`` the ``--allow-url`` patterns, as for
    ``envsnap pin``.

    Without pinning support the lock comes back unchanged unless ``required``: the exporter then names
    what is unpinned.
    """
    try:
        # Through the import system (not an attribute of the package), so a build without it is seen as such.
        pin = import_module("envsnap.artifacts.pin")
    except ImportError as exc:
        if required:
            raise ExportError("--pin: this envsnap cannot pin artifacts (envsnap.artifacts.pin is missing)") from exc
        return snapshot, [], {}
    result = pin.pin(snapshot, project_dir=project_dir, allow_urls=allow_urls)  # with each package's outcome
    failures = [f"{o.name} {o.version}: {o.reason}" for o in result.outcomes if o.status == "unpinned"]
    # No configured location lists any file of its release (a --find-links install): the hint pin and bundle give
    # after their list, given once after the error's.
    pinned: Snapshot = result.snapshot
    unlisted = {
        f"{o.name} {o.version}: {o.reason}": pkg.installer if pkg is not None else ""
        for o in result.outcomes
        if o.status == "unpinned" and o.unlisted
        for pkg in [pinned.package(o.name)]
    }
    return pinned, failures, unlisted


def _targets(exporter: Exporter, files: Mapping[str, bytes], output: str | None) -> dict[Path, bytes]:
    """Where ``write`` puts each rendered file (none for ``-o -``)."""
    from pathlib import Path

    if output == "-":
        return {}
    if exporter.directory:
        root = Path(output or exporter.filename)
        return {root / name: data for name, data in sorted(files.items())}
    ((name, data),) = files.items()
    target = Path(output) if output else Path(name)
    # ``-o exp/`` names a folder, made when missing (Path drops the slash: it wrote a file named exp, which
    # the next format then replaced).
    if target.is_dir() or (output or "").endswith(("/", os.sep)):
        target = target / name
    return {target: data}


def _refuse_over_input(targets: Mapping[Path, bytes], lock: str, *, files: bool = True) -> None:
    """Exit 2 before anything is written when a file the export writes is the lock it reads (``-o LOCK``; a
    bundle's ``envsnap.lock`` or archive): the lock was replaced by the exported file; or, for a bundle folder,
    lies anywhere inside it (``-o BUNDLE/requirements.txt``, ``-f dockerfile -o BUNDLE``): a file of the bundle
    replaced or added, it failed its ``SHA256SUMS`` check. ``files``: the targets are files (else a folder)."""
    from .._defaults import LOCK_NAME
    from .._samefile import refuse_output_inside, refuse_output_over_input

    bundle = os.path.isdir(lock)
    inputs = [("the lock", lock), *([("the bundle's lock", os.path.join(lock, LOCK_NAME))] if bundle else [])]
    for target in targets:
        if files:
            refuse_output_over_input(target, inputs)
        if bundle:
            why = "replace or add a file its SHA256SUMS does not list, and break the bundle"
            refuse_output_inside(target, lock, "the bundle", why)


def _refuse_over_user_files(exporter: Exporter, output: str | None) -> None:
    """Exit 2 before anything is written when the export would replace a file envsnap did not write: the folder a
    build context goes to holding a project's own Dockerfile or requirements.txt (as ``rebuild --target docker
    --dest`` refuses it: one rule, ``check_context_dest``), or the one file of another format already there, without
    the format's header (a project's requirements.txt, in the working directory by default). Both were replaced
    without a word. A file or context envsnap wrote is written again."""
    from pathlib import Path

    if output == "-":
        return
    if exporter.directory:
        from ..dockerfile.context import check_context_dest

        check_context_dest(Path(output or exporter.filename), "-o" if output else "export to")
        return
    for target in _targets(exporter, {exporter.filename: b""}, output):
        if not os.path.lexists(target):
            continue
        if target.is_file() and exporter.written_by_envsnap(_head(target)):
            continue
        named = f"-o {target}" if output else str(target)
        raise UsageError(
            f"{named}: exists and is not a {exporter.name} file envsnap wrote; export does not replace it: name "
            "another file with -o, or move it away first"
        )


# A file larger than this found at the output is no export of envsnap's: not read whole to find its header.
_OWN_FILE_LIMIT = 64 << 20


def _head(path: Path) -> bytes:
    """The bytes of the file at ``path`` (at most ``_OWN_FILE_LIMIT``); b"" when it cannot be read or is larger."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_OWN_FILE_LIMIT + 1)
    except OSError:
        return b""
    return b"" if len(data) > _OWN_FILE_LIMIT else data


def write(exporter: Exporter, files: Mapping[str, bytes], output: str | None) -> list[Path]:
    """Write rendered files atomically, or print a single file for ``-o -``; returns the paths written."""

    from .._fs import atomic_write_bytes

    if output == "-":
        if exporter.directory or len(files) != 1:
            raise ExportError(f"{exporter.name}: writes several files; give -o DIRECTORY instead of '-'")
        _output.write_document(next(iter(files.values())))
        return []
    targets = _targets(exporter, files, output)
    if len(targets) > 1:
        # A build context is written whole or not begun: one file that cannot be written (a folder in its place, a
        # folder that may not be written) left the files before it, which a ``docker build`` then read as one.
        from .._fs import check_writable

        for target in targets:
            try:
                check_writable(target)
            except OSError as exc:
                raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    if exporter.directory:
        from pathlib import Path

        from ..dockerfile.context import replace_context

        dest = Path(output or exporter.filename)
        try:
            return replace_context(dest, files)
        except OSError as exc:
            raise ExportError(f"{dest}: cannot write the build context: {exc.strerror or exc}") from exc
    written = []
    for target, data in targets.items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)
        except OSError as exc:
            raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from exc
        written.append(target)
    return written
