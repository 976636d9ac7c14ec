"""``envsnap bundle``: a self-contained supplement that rebuilds an environment with no network.

Layout (the rebuilders rely on it)::

    BUNDLE/envsnap.lock        the lock, with every Python package's artifact filled in
    BUNDLE/wheels/             one wheel per Python package (downloaded and hash-checked, or rebuilt)
    BUNDLE/conda/              conda packages (filled by the conda layer)
    BUNDLE/images/             saved container images (filled by the docker target)
    BUNDLE/debs/               the system packages' pinned .deb files (``--with-system-packages``)
    BUNDLE/requirements.txt    ``name==version --hash=sha256:...`` for pip --require-hashes --no-deps
    BUNDLE/README.md           how to rebuild, by hand or with envsnap
    BUNDLE/appendix.md, .tex   the paper's environment appendix, citing the digest of this envsnap.lock
    BUNDLE/SHA256SUMS          sha256sum(1) lines for every other file

A bundle from someone else is untrusted: ``open_bundle`` checks SHA256SUMS in full (every listed file present
and matching, nothing unlisted, only plain relative names and regular files) before anything in it is read,
and unpacks an archive within limits (total size, member count, compression ratio, free disk) with only
regular files and folders, whatever the Python's ``tarfile`` offers. An archive holds one top-level folder.

Wheels that exist upstream are copied byte for byte (their sha256 is the lock's). Packages with no upstream
wheel (VCS checkouts, local directories, sdists) get a wheel built here; their artifact is marked
``rebuilt``. Re-running on an existing bundle fetches and builds only what is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .. import _leftovers, _readlimits, _runner, _tools, fileurls, grammar, interchange, lockfile, sinks
from .._bundlelock import archive_folder as archive_folder
from .._bundlelock import bundle_holding as bundle_holding
from .._bundlelock import bundle_listing as bundle_listing
from .._bundlelock import bundle_lock_written as bundle_lock_written
from .._bundlelock import pin_command as pin_command
from .._bundlelock import pin_then_bundle as pin_then_bundle
from .._bundlelock import pinned_beside as pinned_beside
from .._bundlelock import unpack_beside as unpack_beside
from .._defaults import (
    ARCHIVE_SUFFIXES,
    ARTIFACTS_CACHE,
    BUNDLE_INCOMPLETE,
    BUNDLE_KEPT_PREFIX,
    BUNDLE_MAX_DEPTH,
    BUNDLE_SUMS,
    LOCK_NAME,
    cache_dir,
    is_kept_folder,
    make_cache_dir,
    without_a_cache_root,
)
from .._frozen import frozen
from .._fs import atomic_write_text, fresh_dir, join_base_name, join_relative, source_date_epoch
from .._localurls import declared_name, here, project_fault
from .._prehash import collect
from .._prehash import sha256_file as sha256_file  # re-exported: the one sha256 of a file
from .._privacy import scrub_snapshot
from ..errors import (
    BadBundleError,
    BundleError,
    EnvsnapError,
    LockfileError,
    NotALockfileError,
    PinError,
    UnsafeInputError,
    UsageError,
)
from ..fileurls import local_path
from ..interchange import file_url
from ..model import Artifact, PythonPackage, Snapshot
from ..progress import Progress
from ..report import counted, first_few
from .sourcecopy import copy_project, pretend_version

if TYPE_CHECKING:
    import gzip
    import tarfile

    from .._fetchpolicy import FetchPolicy, FetchRefusedError
    from .pin import IndexConfig, Pinner

# The pinning and download machinery (.pin: the index client, the fetch policy, pip's configuration) is imported
# where a bundle is made or a wheel fetched: reading and checking a bundle (an offline rebuild) needs none of it.

WHEELS = "wheels"
CONDA = "conda"
IMAGES = "images"
TOOL = "tool"  # envsnap's own wheels for the docker target's image (`bundle --with-base-image`)
DEBS = "debs"  # the system packages' .deb files (`bundle --with-system-packages`), as artifacts.debs names them
# The base image `bundle --with-system-packages` left packages to (the docker target writes and reads it).
SYSTEM_BASE = "system-base.json"
REQUIREMENTS = "requirements.txt"
README = "README.md"
SUMS = BUNDLE_SUMS
BUILD_TIMEOUT = 900.0
# The hidden files a bundle may publish at its top (an artifact's Zenodo metadata, read there by Zenodo's
# tools); every other hidden file in a bundle is a leftover or an addition, never trusted.
PUBLISHED_HIDDEN = frozenset({".zenodo.json"})
INCOMPLETE = BUNDLE_INCOMPLETE  # in a bundle directory being made: a re-run completes it
KEPT_PREFIX = BUNDLE_KEPT_PREFIX  # at a bundle's top: the earlier files a re-bundle keeps (``_keeping``)
GZIP_LEVEL = 1  # wheels and conda archives are compressed already: level 9 took minutes to save a few percent
PROGRESS_STEP = 256 << 20  # a progress line per this many bytes archived or unpacked


# Limits on unpacking an archive (docs/security.md, "Limits"), each overridable by its environment variable.
MAX_BYTES_ENV = "ENVSNAP_BUNDLE_MAX_BYTES"
MAX_MEMBERS_ENV = "ENVSNAP_BUNDLE_MAX_MEMBERS"
MAX_RATIO_ENV = "ENVSNAP_BUNDLE_MAX_RATIO"
DEFAULT_MAX_BYTES = 64 << 30
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_RATIO = 100
RATIO_FLOOR = 16 << 20  # the ratio limit never refuses less than this (tar headers of a tiny bundle compress well)


def _names_its_package(pkg: PythonPackage, shown: Callable[[], str]) -> None:
    """Refuse a wheel whose file name names another distribution or version than ``pkg`` (a stranger's lock gave
    ``b 2.0`` the wheel ``a-1.0-py3-none-any.whl``): an installer takes the name and version from there, so the
    rebuild would fail in the installer or install ``a`` for ``b``. Compared as ``releases.same_release`` compares
    them ("1.0.0" is "1.0"). ``shown``: the file as the error names it."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    from .releases import same_release  # not ``pin``'s: reading a bundle imports no index client

    filename = pkg.artifact.filename if pkg.artifact is not None else ""
    if same_release(filename, pkg):
        return
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        raise BadBundleError(f"{shown()}: not a wheel file name of {pkg.name} {pkg.version}") from None
    raise BadBundleError(f"{shown()}: the wheel of {name} {version}, not of {pkg.name} {pkg.version}")


class BundleSettingError(BundleError):
    """A limit set in the environment is not a number (bad input)."""

    exit_code = 2


# sha256 of bundle files already hashed in this process, by (device, inode, size, mtime): unpacking hashes each
# file as it writes it and SHA256SUMS is checked once; the wheel checks after that reuse the result.
_KNOWN: dict[tuple[int, int, int, int], str] = {}


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def known_sha256(path: Path) -> str:
    """``sha256_file``, once per file and version of it in this process."""
    key = _identity(path)
    digest = _KNOWN.get(key)
    if digest is None:
        digest = _KNOWN[key] = sha256_file(path)
    return digest


def hash_ahead(paths: Iterable[Path], stop: threading.Event | None = None) -> None:
    """``known_sha256`` of every file in ``paths``, on a thread per core (hashlib releases the GIL), so that the
    checks after it find each digest known; a file that cannot be read is left for that check to report.
    ``stop``, once set, ends it after the files being hashed."""
    todo = []
    for path in paths:
        with contextlib.suppress(OSError):
            if _identity(path) not in _KNOWN:
                todo.append(path)
    if len(todo) < 2:
        return
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> None:
        if stop is not None and stop.is_set():
            return
        with contextlib.suppress(OSError):
            known_sha256(path)

    with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1), thread_name_prefix="envsnap-hash") as pool:
        list(pool.map(one, todo))


def hash_bundle_ahead(root: Path, stop: threading.Event | None = None) -> None:
    """``hash_ahead`` of a bundle directory's files, for ``Bundle.verify_sums`` to find known: run in the
    background while other work goes on (a rebuild's compatibility check). Only the regular files a strict
    listing finds are read (a link or special file is left for ``verify_sums`` to refuse); reports nothing. The
    digests of the hashing the CLI began before envsnap loaded (``_prehash.start``) are taken first."""
    for identity, digest in collect(root, stop).items():
        _KNOWN.setdefault(identity, digest)
    try:
        files = _bundle_files(root, strict=True)
    except (OSError, BundleError):
        return
    hash_ahead((root / rel for rel in files), stop)


# Each folder an archive was unpacked to in this process, and the archive (``Bundle.origin``).
_UNPACKED_FROM: dict[Path, str] = {}


class Bundle:
    """An unpacked bundle directory. ``origin``: the archive it was unpacked from, which its errors name (the
    unpacked copy is a temporary folder, removed by the time the message is read)."""

    def __init__(self, root: str | os.PathLike[str], *, origin: str | os.PathLike[str] | None = None):
        self.root = Path(root)
        if origin is not None:
            _UNPACKED_FROM[self.root] = os.fspath(origin)
        # A later ``Bundle`` of the same unpacked copy (a rebuild target's, from its request's folder) names the
        # archive too: its wheel checks and "made from another lock" come after ``open_bundle``'s.
        self.origin = _UNPACKED_FROM.get(self.root)
        if not (self.root / LOCK_NAME).is_file():
            raise BadBundleError(f"{self.shown()}: not an envsnap bundle (no {LOCK_NAME})")

    def shown(self, rel: str | None = None) -> str:
        """How a message names the bundle, or its file ``rel`` (a relative path): in the folder, or as a member
        inside the archive it came from (``supp.tar.gz: wheels/x.whl``)."""
        if self.origin is None:
            return str(self.root / rel) if rel else str(self.root)
        return f"{self.origin}: {rel}" if rel else self.origin

    def read_text(self, rel: str, read: Callable[[Path], str]) -> str:
        """A text file of the bundle as ``read`` reads it (within its limits); a refusal names it as ``shown``. A
        link is never followed (it may lead to any file of the reader's: ``audit``, which grades a bundle before its
        checks pass, read another lock of theirs as the bundle's), nor a special file read: refused as the bundle's
        checks refuse one."""
        try:
            mode = os.lstat(self.root / rel).st_mode
        except OSError:
            mode = stat.S_IFREG  # missing: ``read`` names it as it names a lock that is not there
        if not stat.S_ISREG(mode):
            raise BadBundleError(
                f"{self.shown(rel)}: a link or special file in the bundle (a bundle holds only files)", odd=rel
            )
        try:
            return read(self.root / rel)
        except EnvsnapError as exc:
            message = self.reworded(rel, str(exc))
            if message == str(exc):
                raise
            raise type(exc)(message) from None

    def reworded(self, rel: str, message: str) -> str:
        """``message`` (an error about the bundle's file ``rel``, starting with its path) naming that file as
        ``shown`` does: an archive's member, not the temporary folder it was unpacked into and is gone after."""
        path = str(self.root / rel)
        if self.origin is None or not message.startswith(path):
            return message
        return self.shown(rel) + message[len(path) :]

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @cached_property
    def lock(self) -> Snapshot:
        return lockfile.loads(self.read_text(LOCK_NAME, lockfile.read_text), origin=self.shown(LOCK_NAME))

    def unsealed_lock(self) -> str:
        """Make ``lock`` the bundle's lock even when it was edited after bundling (its content no longer matches its
        ``content_digest``): an audit grades such a bundle rather than refuse it. The seal's error ("" when the lock
        is sealed); a lock that is not readable at all (a field outside its grammar) still raises."""
        try:
            self.lock  # noqa: B018 (read for its check)
        except LockfileError as exc:
            text = self.read_text(LOCK_NAME, lockfile.read_text)
            self.__dict__["lock"] = lockfile.loads(text, origin=self.shown(LOCK_NAME), check_digest=False)
            return str(exc)
        return ""

    @property
    def wheels_dir(self) -> Path:
        return self.root / WHEELS

    @property
    def conda_dir(self) -> Path:
        return self.root / CONDA

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES

    @property
    def requirements(self) -> Path:
        return self.root / REQUIREMENTS

    def wheel_for(self, pkg: PythonPackage | str) -> Path:
        """The bundled wheel of a package (by model or name). ``BundleError`` when it has none or it is gone."""
        locked = self.lock.package(pkg if isinstance(pkg, str) else pkg.name)
        if locked is None:
            raise BundleError(
                f"{self.shown()}: {pkg if isinstance(pkg, str) else pkg.name} is not in the bundle's lock"
            )
        if locked.artifact is None or not locked.artifact.filename.endswith(".whl"):
            # Named as the user gave it (``shown``): an archive's temporary folder is gone when the message is read.
            raise BundleError(f"{self.shown()}: {locked.name} {locked.version} has no wheel in this bundle")
        path = join_base_name(self.wheels_dir, locked.artifact.filename)
        _names_its_package(locked, lambda: self.shown(self._rel(path)))
        if not path.is_file():
            raise BundleError(
                f"{self.shown(self._rel(path))}: missing from the bundle ({locked.name} {locked.version})"
            )
        return path

    def check_wheels(self, packages: Iterable[PythonPackage]) -> None:
        """Hash the bundled wheels of ``packages`` in parallel ahead of ``check_wheel`` (which then compares)."""
        paths = []
        for pkg in packages:
            with contextlib.suppress(BundleError, UnsafeInputError):
                paths.append(self.wheel_for(pkg))
        hash_ahead(paths)

    def check_wheel(self, pkg: PythonPackage) -> Path:
        """The wheel, after checking its sha256 against the lock. Errors name the file."""
        path = self.wheel_for(pkg)
        locked = self.lock.package(pkg.name)
        artifact = locked.artifact if locked is not None else None
        if artifact is None:
            raise BadBundleError(f"{self.shown()}: {pkg.name} has no artifact in the bundle's lock")
        actual = known_sha256(path)
        if actual != artifact.sha256:
            raise BadBundleError(
                f"{self.shown(self._rel(path))}: hash mismatch: sha256 {actual}, the lock says {artifact.sha256} "
                "(the file was changed after bundling)"
            )
        return path

    def verify_sums(self, progress: Progress | None = None, *, completing: bool = False) -> None:
        """Check the whole bundle against SHA256SUMS before anything in it is read: every listed file present,
        a regular file and matching; nothing unlisted (hidden files and links included). Errors name the file.
        ``completing``: the run that holds the bundle incomplete checks its own work so far."""
        sums = self.root / SUMS
        if not sums.is_file() or sums.is_symlink():
            raise BadBundleError(
                f"{self.shown(SUMS)}: missing (not a complete bundle; every file of a bundle is checked against it "
                "before use)"
            )
        if (self.root / INCOMPLETE).exists() and not completing:
            raise BadBundleError(f"{self.shown()}: an interrupted `envsnap bundle` (re-run it to complete the bundle)")
        listed = _parse_sums(self.read_text(SUMS, _read_sums_text), self.shown(SUMS))
        present = _bundle_files(self.root, strict=True, shown=self.shown)
        for rel in sorted(listed):
            if rel not in present:
                raise BadBundleError(f"{self.shown(rel)}: listed in {SUMS} but missing {_ALTERED.format('removed')}")
        extra = sorted(set(present) - set(listed))
        if extra:
            raise BadBundleError(f"{self.shown(extra[0])}: not listed in {SUMS} (added after bundling)")
        total = sum(present.values())
        if progress is not None and total >= PROGRESS_STEP:
            progress(f"checking {len(listed)} files ({_gib(total)}) against {SUMS}")
        for rel, expected in sorted(listed.items()):
            try:
                actual = known_sha256(self.root / rel)
            except OSError as exc:  # a file kept private to its author (cp -p, another user's umask)
                raise BadBundleError(f"{self.shown(rel)}: cannot be read ({exc.strerror or exc})") from None
            if actual != expected:
                raise BadBundleError(
                    f"{self.shown(rel)}: hash mismatch: sha256 {actual}, {SUMS} says {expected} "
                    + _ALTERED.format("changed")
                )

    def write_sums(self) -> None:
        """Rewrite SHA256SUMS over every file (call after adding conda packages or images)."""
        lines = [f"{known_sha256(self.root / rel)}  {rel}\n" for rel in _bundle_files(self.root)]
        atomic_write_text(self.root / SUMS, "".join(lines))


# What to do with a bundle whose file was changed or removed since it was made: a reviewer holds a copy someone
# altered (an upload, an edit), its author bundles again.
_ALTERED = "({} after bundling: take an unaltered copy of the bundle, or bundle the lock again)"


def another_lock(lock_arg: str = "LOCK") -> str:
    """What to do with a bundle of another lock: the one it holds, or a bundle of this one, named as given
    (``lock_arg``, one shell word; the placeholder ``LOCK`` where no command gave one)."""
    return (
        f"; give the lock it holds (its envsnap.lock), or make a bundle of this lock (envsnap bundle {lock_arg} -o DIR)"
    )


def check_made_from(
    lock: Snapshot,
    bundled: Snapshot,
    where: str | os.PathLike[str],
    *,
    project_code: bool = True,
    project_dir: Path | None = None,
    lock_arg: str = "LOCK",
) -> None:
    """``BundleError`` unless a bundle's lock has the Python layer of ``lock``: the same packages, versions,
    RECORD digests and sources (kind, place, commit: ``_source_key``), and the same wheel file wherever ``lock``
    already pins one, and a wheel built from the sdist it pins (a bundle of another lock, or one whose lock was
    edited to match a swapped wheel, is refused before anything is built). ``project_dir``: what ``{project}``
    names, so that one folder written as ``file://{project}`` in one lock and by its path in the other is one
    source. With ``project_code``, a package the bundle built from the project itself (``file://{project}``) must
    also come from the project state ``lock`` records (``_check_project_state``)."""
    # A package built from its source and imported without a version (uv export's `directory` entry, a
    # requirements file's `name @ git+...@commit` or archive URL) takes the version its wheel was built with:
    # an empty version matches any.
    # Its source is compared instead: the commit of a VCS source, the hash of an archive (a bundle built from
    # another commit of the same repository is another lock's).
    versionless = {p.name for p in lock.pip_layer() if not p.version and p.source.kind != "index"}

    def key(p: PythonPackage, resolve: bool = False) -> tuple[str, str, str, str, tuple[str, str, str]]:
        source = _source_key(p, project_dir) if resolve else (p.source.kind, p.source.url, p.source.commit_id)
        if p.name not in versionless:
            return p.version, p.record_digest, "", "", source
        pinned = p.source.kind in ("vcs", "archive")
        return (
            "",
            p.record_digest,
            p.source.commit_id if pinned else "",
            p.source.archive_hash if pinned else "",
            source,
        )

    mine = {p.name: key(p) for p in lock.pip_layer()}
    theirs = {p.name: key(p) for p in bundled.pip_layer()}
    if mine != theirs:  # the same folder may be written two ways: compared again by the folders the URLs name
        mine = {p.name: key(p, True) for p in lock.pip_layer()}
        theirs = {p.name: key(p, True) for p in bundled.pip_layer()}
    if mine != theirs:
        differing = sorted(set(mine.items()) ^ set(theirs.items()))
        raise BadBundleError(
            f"{where}: the bundle was made from another lock (first difference: {differing[0][0]})"
            + another_lock(lock_arg)
        )
    for pkg in lock.pip_layer():
        art, other = pkg.artifact, bundled.package(pkg.name)
        theirs_art = other.artifact if other is not None else None
        if art is not None and not art.rebuilt and not art.filename.endswith(".whl") and theirs_art is not None:
            # The sdist the lock pins: the bundle's wheel of it names the sdist it was built from (a bundle of an
            # envsnap that recorded none: not known); its RECORD digest, copied from the lock, tells nothing here.
            built_from = theirs_art.sdist_sha256 if theirs_art.rebuilt else ""
            if built_from and built_from != art.sha256:
                raise BadBundleError(
                    f"{where}: the bundle was made from another lock ({pkg.name} {pkg.version}: the lock pins "
                    f"{art.filename} sha256 {art.sha256}, the bundle's {theirs_art.filename} was built from an sdist "
                    f"of sha256 {built_from})" + another_lock(lock_arg)
                )
        if art is None or art.rebuilt or not art.filename.endswith(".whl"):
            continue  # nothing pinned yet, or a wheel the bundle builds from source
        if theirs_art is None or theirs_art.sha256 != art.sha256:
            raise BadBundleError(
                f"{where}: the bundle was made from another lock ({pkg.name} {pkg.version}: the lock pins "
                f"{art.filename} sha256 {art.sha256}, the bundle "
                + (f"{theirs_art.filename} sha256 {theirs_art.sha256})" if theirs_art else "has no wheel)")
                + another_lock(lock_arg)
            )
    if project_code:
        _check_project_state(lock, bundled, where, lock_arg)


def judged_for(lock: Snapshot, bundled: Snapshot) -> Snapshot:
    """The bundle's lock as a rebuild of ``lock`` with that bundle verifies what it installed: the bundle's own lock
    (``bundled is lock``: one text is one snapshot) as it is; for another lock, the one it was made from (checked by
    ``check_made_from``), without the RECORD digest of each wheel the bundle built (``artifact.built_record_digest``),
    so the files that lock asked for are the ones verified, and a wheel whose files differ (a folder edited since, a
    build that is not reproducible) is said, as it was. The one rule of the venv and docker targets."""
    if bundled is lock:
        return bundled
    packages = tuple(_without_built_files(p) for p in bundled.python.packages)
    if all(new is old for new, old in zip(packages, bundled.python.packages, strict=True)):
        return bundled
    return dataclasses.replace(bundled, python=dataclasses.replace(bundled.python, packages=packages))


def _without_built_files(pkg: PythonPackage) -> PythonPackage:
    art = pkg.artifact
    if art is None or not art.built_record_digest:
        return pkg
    return dataclasses.replace(pkg, artifact=dataclasses.replace(art, built_record_digest=""))


def _source_key(pkg: PythonPackage, project_dir: Path | None) -> tuple[str, str, str]:
    """Where a package comes from, as two locks of one environment agree on it: its source's kind, its URL and its
    commit (``check_made_from`` compares the URLs as written first: this reads pin's rules only where they differ).
    A local URL is the folder it names on this machine (``pin.local_dir``: a ``{project}`` label under
    ``project_dir``, ``~`` in the home), so ``file://{project}`` and the path of that folder are one place; a label
    that names nothing here (no ``project_dir``, ``{prefix}``, one leading out of the project) stays as recorded."""
    from .pin import local_dir

    src = pkg.source
    place = src.url
    if fileurls.is_file_url(place) and not (project_dir is None and place.startswith("file://" + fileurls.PROJECT)):
        with contextlib.suppress(PinError, UnsafeInputError):  # else compared as written
            place = os.path.normpath(local_dir(place, project_dir))
    return src.kind, place, src.commit_id


def _project_state(lock: Snapshot) -> tuple[str, bool, str]:
    """The code a lock's ``[project]`` records: its commit and uncommitted change (none recorded: empty)."""
    recorded = lock.project
    return (recorded.commit, recorded.dirty, recorded.diff_digest) if recorded is not None else ("", False, "")


def _shown_state(state: tuple[str, bool, str]) -> str:
    commit, dirty, diff = state
    shown = f"commit {commit[:12]}" if commit else "no recorded commit"
    return shown + (f" with uncommitted change {diff[7:19]}" if dirty else "")


def _check_project_state(
    lock: Snapshot, bundled: Snapshot, where: str | os.PathLike[str], lock_arg: str = "LOCK"
) -> None:
    """``BadBundleError`` where a package of ``lock`` that the bundle built from the project itself
    (``file://{project}``) was built at another project state than ``lock`` records. Its version, and an editable
    install's RECORD digest (which lists no code), stay the same from commit to commit: the bundle's wheel of an
    earlier commit was installed for a later lock, and its verify said identical."""
    mine = _project_state(lock)
    if not mine[0]:
        return  # the lock records no commit: nothing to tell the bundle's code from
    theirs = _project_state(bundled)
    if mine == theirs:
        return
    for pkg in lock.pip_layer():
        if pkg.source.kind != "directory" or not pkg.source.url.startswith("file://{project}"):
            continue
        if pkg.artifact is not None and not pkg.artifact.rebuilt:
            continue  # a wheel the lock pins by its sha256, checked above
        raise BadBundleError(
            f"{where}: the bundle was made from another lock (first difference: {package_label(pkg)} is built from "
            f"the project at {_shown_state(mine)} in the lock, at {_shown_state(theirs)} in the bundle's)"
            + another_lock(lock_arg)
        )


def check_conda_made_from(
    lock: Snapshot, bundled: Snapshot, where: str | os.PathLike[str], lock_arg: str = "LOCK"
) -> None:
    """``BadBundleError`` unless a bundle's lock has the conda packages of ``lock`` (by name, version and build):
    the conda target's ``check_made_from`` (a lock imported from the bundle's own conda file knows no RECORD
    digest of its pip packages, so its pip layer is compared by what both know: each pip package of ``lock`` is
    one of the bundle's, of its version, and of its wheel's sha256 where ``lock`` pins one)."""
    mine = {(p.name, p.version, p.build) for p in (lock.conda.packages if lock.conda else ())}
    theirs = {(p.name, p.version, p.build) for p in (bundled.conda.packages if bundled.conda else ())}
    if mine and not mine <= theirs:
        first = sorted(mine - theirs)[0]
        raise BadBundleError(
            f"{where}: the bundle was made from another lock (first difference: conda {first[0]})"
            + another_lock(lock_arg)
        )
    # The pip layer is installed from the bundle lock's own entries: one missing there was left out, one of
    # another version installed, and the rebuild failed only at its verify (exit 3) with that prefix in place.
    held = {p.name: p for p in bundled.pip_layer()}
    for pkg in sorted(lock.pip_layer(), key=lambda p: p.name):
        other = held.get(pkg.name)
        art = pkg.artifact
        wheel = art.sha256 if art is not None and not art.rebuilt and art.filename.endswith(".whl") else ""
        if (
            other is None
            or (pkg.version and other.version != pkg.version)
            or (pkg.record_digest and other.record_digest and other.record_digest != pkg.record_digest)
            or (wheel and (other.artifact is None or other.artifact.sha256 != wheel))
        ):
            raise BadBundleError(
                f"{where}: the bundle was made from another lock (first difference: {pkg.name}){another_lock(lock_arg)}"
            )


def read_sums(path: Path) -> dict[str, str]:
    return _parse_sums(_read_sums_text(path), str(path))


def _read_sums_text(path: Path) -> str:
    # Bounded as every file of a stranger's bundle is (ENVSNAP_MAX_LOCK_BYTES, 16 MiB: 160,000 lines): read whole,
    # a folder's 4 GiB one took that much memory and more to decode.
    return _readlimits.read_text(path, error=BadBundleError, what="SHA256SUMS list")


def _parse_sums(text: str, path: str) -> dict[str, str]:
    """The lines of a SHA256SUMS text; ``path`` is how its errors name the file."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or not grammar.is_sha256_hex(digest):
            raise BadBundleError(f"{path}:{n}: not a sha256sum line")
        if not grammar.is_relative_path(rel) and rel not in PUBLISHED_HIDDEN:
            raise BadBundleError(f"{path}:{n}: not a plain relative path inside the bundle: {grammar.shown(rel)}")
        if rel == SUMS or rel in out:
            raise BadBundleError(f"{path}:{n}: {grammar.shown(rel)} listed twice or listing {SUMS} itself")
        out[rel] = digest
    return out


def is_kept(rel: str) -> bool:
    """``rel`` (a path relative to a bundle's top) is in a folder a re-bundle keeps the earlier files in while it
    writes (``_keeping``), or one a killed re-bundle left: envsnap's working copies, no file of the bundle."""
    top, sep, _rest = rel.partition("/")
    return bool(sep) and is_kept_folder(top)


def _bundle_files(root: Path, *, strict: bool = False, shown: Callable[[str], str] | None = None) -> dict[str, int]:
    """Every file of a bundle but SHA256SUMS (and the in-progress marker, and the folder a re-bundle keeps the
    earlier files in, ``is_kept``), by relative path, with its size.
    ``strict``: a link or anything but a regular file or folder is an error (a bundle holds none), naming it by
    ``shown`` of its relative path (``Bundle.shown``); so is a folder more than ``MAX_DEPTH`` folders down (1,000
    made the walk recurse past Python's limit) or a path the system cannot read (longer than it allows): a
    stranger's folder, refused as an archive like it is, in one line."""
    out: dict[str, int] = {}

    def named(path: Path) -> str:
        rel = path.relative_to(root).as_posix()
        if len(rel) > 120:  # a path of thousands of characters: its start names it
            return (shown(rel[:120]) if shown is not None else str(root / rel[:120])) + "..."
        return shown(rel) if shown is not None else str(path)

    def unreadable(path: Path, exc: OSError) -> BadBundleError:
        return BadBundleError(f"{named(path)}: cannot be read in the bundle ({exc.strerror or exc})")

    def refuse_walk(exc: OSError) -> None:
        raise unreadable(Path(exc.filename), exc)

    for dirpath, dirnames, filenames in os.walk(root, onerror=refuse_walk if strict else None):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [name for name in dirnames if not is_kept(f"{name}/")]
        if strict and dirnames and len(here.relative_to(root).parts) >= MAX_DEPTH:
            raise BadBundleError(
                f"{named(here / dirnames[0])}: a folder more than {MAX_DEPTH} folders deep in the bundle (too deep)"
            )
        for name in [*dirnames, *filenames]:
            path = here / name
            try:
                st = os.lstat(path)
            except OSError as exc:
                if not strict:
                    raise
                raise unreadable(path, exc) from None
            if strict and not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise BadBundleError(
                    f"{named(path)}: a link or special file in the bundle (a bundle holds only files)",
                    odd=path.relative_to(root).as_posix(),
                )
            if stat.S_ISREG(st.st_mode):
                rel = path.relative_to(root).as_posix()
                if rel not in (SUMS, INCOMPLETE):
                    out[rel] = st.st_size
        dirnames.sort()
    return dict(sorted(out.items()))


HOLDINGS = "## What this bundle holds"
_FOLDER_WORDS = {
    WHEELS: "Python wheels",
    CONDA: "conda packages",
    DEBS: "system packages (.deb files)",
    IMAGES: "saved container images",
    TOOL: "envsnap's own wheels for the image",
}
# The folders of a bundle that files are copied or downloaded into (held ``.envsnap-download-*`` files while written):
# `envsnap clean BUNDLE` looks in them too.
FOLDERS = tuple(_FOLDER_WORDS)
# The folders whose files a failed or interrupted re-bundle added are kept for the next run (fetched over a network);
# not images/, which the engine here saves again (one kept beside the earlier image left the bundle holding both).
_FETCHED = frozenset(_FOLDER_WORDS) - {IMAGES}
# The folders the docker target's parts add (``--with-system-packages``, ``--with-base-image``), which a bundle made
# again without the option keeps: the README's section says what they hold.
_DOCKER_PARTS = frozenset(_FOLDER_WORDS) - {WHEELS, CONDA}


def describe_bundle(root: Path) -> None:
    """Write (or rewrite) the README's last section: each folder's file count and size, and the total, so a
    reader knows what the supplement holds before unpacking or depositing it."""
    files = _bundle_files(root)
    per: dict[str, list[int]] = {}
    for rel, size in files.items():
        top = rel.split("/", 1)[0] if "/" in rel else ""
        if top and not rel.endswith("/README.md"):
            count_size = per.setdefault(top, [0, 0])
            count_size[0] += 1
            count_size[1] += size
    lines = [HOLDINGS, "", "| folder | holds | files | size |", "| --- | --- | --- | --- |"]
    for top, (count, size) in sorted(per.items()):
        lines.append(f"| `{top}/` | {_FOLDER_WORDS.get(top, 'other files')} | {count} | {_size(size)} |")
    lines += ["", f"In all: {len(files)} files, {_size(sum(files.values()))} (before SHA256SUMS).", ""]
    saved = _saved_images(root)
    if saved:
        lines += ["The saved base images in `images/` (the container rebuild loads the one it builds on):", ""]
        lines += [f"- `{reference}` (id `{image_id}`)" for reference, image_id in saved]
        lines += [""]
    if (root / IMAGES).is_dir() or (root / TOOL).is_dir():
        lines += [_container_network(root), ""]
    readme = root / README
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    text = text.split("\n" + HOLDINGS, 1)[0].rstrip("\n")
    atomic_write_text(readme, (text + "\n\n" if text else "") + "\n".join(lines))


_IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")


def _saved_images(root: Path) -> list[tuple[str, str]]:
    """The name and id of each base image ``images/`` holds, from the ``.json`` beside it: the README said only
    that a saved base image was there, not which. A file that does not read as one envsnap wrote is left out here
    (the rebuild that would use it, and the audit, refuse it in one line)."""
    found = []
    folder = root / IMAGES
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = _readlimits.read_json(meta, error=BundleError, limit=1 << 20)
        except BundleError:
            continue
        reference, image_id = (data.get("reference"), data.get("id")) if isinstance(data, dict) else (None, None)
        if (
            isinstance(reference, str)
            and _IMAGE_NAME.fullmatch(reference)
            and isinstance(image_id, str)
            and grammar.is_image_digest(image_id)
        ):
            found.append((reference, image_id))
    return found


def _container_network(root: Path) -> str:
    """What network the README's container rebuild needs, by what the bundle holds: the README opened with "with no
    network", while a bundle without the system packages' .deb files builds its image with apt over the network."""
    rebuild = "`envsnap rebuild envsnap.lock --target docker --bundle . --offline`"
    if (root / DEBS).is_dir() or (root / SYSTEM_BASE).is_file():
        return (
            f"A container rebuild ({rebuild}) builds with no network: the system packages it installs are in "
            "`debs/`, or in the base image the bundle was made on, which held them (`system-base.json`)."
        )
    return (
        f"A container rebuild ({rebuild}) installs any system packages the lock records and, on a base image without "
        "Python, its interpreter from the apt mirror, over the build's network (`host`; its `--dry-run` names them): "
        "this bundle holds no `.deb` files for them. `envsnap pin LOCK --base-image IMAGE`, then `envsnap bundle LOCK "
        "-o BUNDLE --with-system-packages --with-base-image --base-image IMAGE` carries them, and the build then has "
        "no network."
    )


def _size(size: int) -> str:
    return _gib(size) if size >= 1 << 20 else f"{size / 1024:.0f} KiB"


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.0f} MiB"


# --------------------------------------------------------------------------------------------- archives


def is_archive(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(ARCHIVE_SUFFIXES)


@frozen
class ArchiveLimits:
    """How much an archive may unpack to: total bytes, members, and bytes per byte of archive (a bomb)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_members: int = DEFAULT_MAX_MEMBERS
    max_ratio: int = DEFAULT_MAX_RATIO

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchiveLimits:
        env = os.environ if environ is None else environ
        return cls(
            max_bytes=_limit(env, MAX_BYTES_ENV, DEFAULT_MAX_BYTES, sizes=True),
            max_members=_limit(env, MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS),
            max_ratio=_limit(env, MAX_RATIO_ENV, DEFAULT_MAX_RATIO),
        )


def _limit(env: Mapping[str, str], name: str, default: int, *, sizes: bool = False) -> int:
    return _readlimits.env_limit(env, name, default, error=BundleSettingError, sizes=sizes)


MAX_DEPTH = BUNDLE_MAX_DEPTH  # a member or folder at most this many folders down (a deeper one: one line, exit 2)
# An extended header (a pax record, a GNU long name) is read whole by tarfile before the member it describes
# is seen: one of 1.5 GiB in a 2 MB archive took 4.7 GB of memory, past every limit on the members themselves.
MAX_EXTENDED_HEADER = 1 << 20


class _HeaderTooLarge(Exception):
    """An extended header larger than ``MAX_EXTENDED_HEADER``: refused before it is read."""


@cache
def _bounded_headers() -> type[tarfile.TarInfo]:
    """The member class of a bundle archive being read, made where one is: ``tarfile`` (with ``gzip``, ``bz2`` and
    ``lzma``) is not imported by a rebuild from a bundle folder, 2 ms of its start."""
    import tarfile

    class BoundedHeaders(tarfile.TarInfo):
        """A member whose extended headers are refused above ``MAX_EXTENDED_HEADER`` before tarfile reads them
        (its own readers, ``_proc_pax`` and ``_proc_gnulong``, read the size the header claims in one piece)."""

        def _proc_pax(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
            self._bounded()
            found: tarfile.TarInfo = super()._proc_pax(archive)  # type: ignore[misc]
            return found

        def _proc_gnulong(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
            self._bounded()
            found: tarfile.TarInfo = super()._proc_gnulong(archive)  # type: ignore[misc]
            return found

        def _bounded(self) -> None:
            if self.size > MAX_EXTENDED_HEADER:
                raise _HeaderTooLarge(f"an extended header of {self.size} bytes (at most {MAX_EXTENDED_HEADER})")

    return BoundedHeaders


def _member_path(member: tarfile.TarInfo, origin: str, *, hidden: bool) -> str:
    """The member's path, checked: plain names only (``hidden``: dot-files too, as a source tree has), at most
    ``MAX_DEPTH`` folders down, and only a regular file or a folder."""
    name = member.name[2:] if member.name.startswith("./") else member.name
    name = name.rstrip("/") if member.isdir() else name
    if member.isdir() and name == ".":
        # ``./``, the archive's top itself, as ``tar -C supp -czf supp.tar.gz .`` writes it first: the folder
        # everything is unpacked into, nothing of its own.
        return ""
    if name.count("/") >= MAX_DEPTH:
        raise BadBundleError(
            f"{origin}: a member more than {MAX_DEPTH} folders deep: {grammar.shown(member.name[:120])}..."
        )
    parts = name.split("/")
    # An artifact's .zenodo.json, at the bundle's top (the archive's one folder, or its top in envsnap 0.1's
    # form): the one hidden file a bundle holds. A tarred artifact, as it is deposited, was refused.
    published = parts[-1] in PUBLISHED_HIDDEN and (
        len(parts) == 1 or (len(parts) == 2 and grammar.is_relative_path(parts[0]))
    )
    plain = (
        (grammar.is_relative_path(name) or published)
        if not hidden
        else grammar.is_relative_path("/".join(part.lstrip(".") or part for part in parts)) and ".." not in parts
    )
    if not plain:
        raise BadBundleError(
            f"{origin}: unsafe path in archive: {grammar.shown(member.name)} "
            "(absolute, with '..', hidden or not a plain name)"
        )
    if member.issym() or member.islnk():
        raise BadBundleError(
            f"{origin}: link in archive refused: {grammar.shown(member.name)} -> {grammar.shown(member.linkname)}"
        )
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise BadBundleError(f"{origin}: special file in archive refused: {grammar.shown(member.name)}")
    return name


def safe_unpack(
    archive_path: Path,
    into: Path,
    *,
    limits: ArchiveLimits | None = None,
    progress: Progress | None = None,
    hidden: bool = False,
) -> dict[str, str]:
    """Unpack ``archive_path`` into the existing empty folder ``into``; the sha256 of every file written.

    Each member is checked before anything of it is written: a plain relative name, a regular file or a
    folder (no link, device or sparse file), within the limits (the running total of sizes, the member
    count, the ratio to the archive's size, the free disk). Where this Python's ``tarfile`` has the
    ``data`` filter it is applied on top; the files are written here (never through a link, never over
    another member), so the same rules hold on a Python without it."""
    import tarfile

    lim = limits or ArchiveLimits.from_env()
    origin = str(archive_path)
    say = progress or (lambda _line: None)
    try:
        packed = archive_path.stat().st_size
        free = shutil.disk_usage(into).free
    except OSError as exc:
        raise BadBundleError(f"{archive_path}: not a readable bundle archive ({exc.strerror or exc})") from None
    allowed = min(lim.max_bytes, max(lim.max_ratio * packed, RATIO_FLOOR))
    digests: dict[str, str] = {}
    total = count = 0
    reported = 0
    try:
        with tarfile.open(archive_path, "r:*", tarinfo=_bounded_headers()) as archive:
            while (member := archive.next()) is not None:
                count += 1
                if count > lim.max_members:
                    raise BadBundleError(f"{origin}: more than {lim.max_members} members (limit {MAX_MEMBERS_ENV})")
                # Counted against every limit, never written: see ``_kept_member``.
                kept = not hidden and _kept_member(member.name)
                rel = "" if kept else _member_path(member, origin, hidden=hidden)
                total += member.size
                if total > allowed:
                    which = (
                        f"{lim.max_bytes} bytes ({MAX_BYTES_ENV})"
                        if allowed == lim.max_bytes
                        else f"{lim.max_ratio} times the archive's {packed} bytes ({MAX_RATIO_ENV})"
                    )
                    raise BadBundleError(
                        f"{origin}: unpacks to more than {which} at {grammar.shown(member.name)} "
                        f"({member.size} bytes); refused before writing it"
                    )
                if total > free:
                    raise BundleError(f"{origin}: needs more than the {free} bytes free at {into}")
                if kept:
                    continue
                if hasattr(tarfile, "data_filter"):
                    tarfile.data_filter(member, str(into))
                target = into / rel
                try:
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    if source is None:
                        raise BadBundleError(f"{origin}: {grammar.shown(member.name)} cannot be read")
                    digests[rel] = _write_new(source, target, member.size, origin)
                except FileExistsError:
                    raise _over_another(into, rel, origin) from None
                if total - reported >= PROGRESS_STEP:
                    reported = total
                    say(f"unpacking {archive_path.name}: {_gib(total)}")
    except BundleError:
        raise
    except _HeaderTooLarge as exc:
        raise BadBundleError(f"{origin}: {exc}; refused before reading it") from None
    except (tarfile.TarError, OSError, EOFError, ValueError, RecursionError) as exc:
        raise BadBundleError(f"{origin}: not a readable bundle archive ({exc})") from None
    return digests


def _kept_member(name: str) -> bool:
    """A member in the folder a re-bundle keeps the earlier files in (``is_kept``), at the bundle's top (the
    archive's one folder, or its top): a re-bundle killed while it kept them left it in a bundle still complete,
    and a ``tar`` of that folder carried it, which every reader leaves out; unpacking refused the archive for it."""
    parts = (name[2:] if name.startswith("./") else name).split("/")
    if is_kept(f"{parts[0]}/"):
        return True
    return len(parts) > 1 and grammar.is_base_name(parts[0]) and is_kept(f"{parts[1]}/")


def _over_another(into: Path, rel: str, origin: str) -> BadBundleError:
    """The error for member ``rel`` (a plain relative name) that met one written before: the same name again, or
    a name under a member that is a file. It names the members, not the staging folder (gone when it is read)."""
    parts = rel.split("/")
    for n in range(1, len(parts)):
        above = "/".join(parts[:n])
        if not (into / above).is_dir():
            return BadBundleError(f"{origin}: {rel}: under {above}, a file of the archive")
    return BadBundleError(f"{origin}: {rel}: in the archive twice")


def _write_new(source: IO[bytes], target: Path, size: int, origin: str) -> str:
    digest = hashlib.sha256()
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > size:
                raise BadBundleError(f"{origin}: {target.name} holds more than its header says")
            digest.update(chunk)
            out.write(chunk)
    if written != size:
        raise BadBundleError(f"{origin}: {target.name} is cut short ({written} of {size} bytes)")
    return digest.hexdigest()


def extract(
    archive_path: Path, dest: Path, *, limits: ArchiveLimits | None = None, progress: Progress | None = None
) -> Bundle:
    """Unpack a bundle archive into ``dest`` (created; must not exist or be empty). Never writes outside."""
    if dest.exists() and any(dest.iterdir()):
        raise BundleError(f"{dest}: exists and is not empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = fresh_dir(dest.parent, f".{dest.name}.")
    try:
        digests = safe_unpack(archive_path, staging, limits=limits, progress=progress)
        entries = list(staging.iterdir())
        # One top-level folder holding the bundle; archives of envsnap 0.1 hold its files at the top level.
        root = (
            entries[0] if len(entries) == 1 and entries[0].is_dir() and not (staging / LOCK_NAME).exists() else staging
        )
        if root == staging and not (staging / LOCK_NAME).exists():
            _refuse_stray_members(archive_path, entries)
        if dest.exists():
            dest.rmdir()
        os.replace(root, dest)
        prefix = "" if root == staging else root.name + "/"
        for rel, digest in digests.items():
            inner = rel[len(prefix) :]
            if rel.startswith(prefix) and (dest / inner).is_file():
                _KNOWN[_identity(dest / inner)] = digest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Bundle(dest, origin=archive_path)


def _refuse_stray_members(archive_path: Path, entries: list[Path]) -> None:
    """An archive whose one folder holds the bundle (its ``envsnap.lock``) with other members beside it at the top
    level (a file added by hand, macOS's ``._supp``): refused naming them; it said "no envsnap.lock", of an archive
    that holds one. The names are the archive's, a stranger's: shown escaped."""
    holders = [entry for entry in entries if entry.is_dir() and (entry / LOCK_NAME).is_file()]
    if len(holders) != 1:
        return  # no bundle folder (the bundle's "no envsnap.lock" says so), or several
    stray = sorted(grammar.shown(entry.name) for entry in entries if entry != holders[0])
    folder = grammar.shown(holders[0].name + "/")
    raise BadBundleError(
        f"{archive_path}: its bundle folder {folder} has {first_few(stray, 3)} beside it at the top level,"
        " which a bundle archive does not hold: remove it, or unpack the archive and give the folder"
    )


def write_archive(root: Path, archive_path: Path, progress: Progress | None = None) -> None:
    """A deterministic archive of a bundle directory in one top-level folder (sorted, zero times and owners),
    written atomically: ``.tar`` uncompressed, ``.tar.gz``/``.tgz`` at gzip level 1 (wheels are compressed)."""
    import gzip
    import tarfile

    epoch = source_date_epoch() or 0
    say = progress or (lambda _line: None)
    top = archive_folder(archive_path)
    files = _bundle_files(root)
    total = sum(files.values())
    with (
        _leftovers.held_file(archive_path.parent, archive_path.name) as (raw, buffer_path),
        contextlib.ExitStack() as stack,
    ):
        out: IO[bytes] | gzip.GzipFile = raw
        if not archive_path.name.endswith(".tar"):
            out = stack.enter_context(
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch, compresslevel=GZIP_LEVEL)
            )
        tar = stack.enter_context(tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT))
        folder = tarfile.TarInfo(top)
        folder.type = tarfile.DIRTYPE
        folder.mtime, folder.mode, folder.uid, folder.gid, folder.uname, folder.gname = epoch, 0o755, 0, 0, "", ""
        tar.addfile(folder)
        done = reported = 0
        if total >= PROGRESS_STEP:
            say(f"writing {archive_path.name}: {len(files) + 1} files, {_gib(total)}")
        for rel in [SUMS, *files]:
            path = root / rel
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = path.stat().st_size
            info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = epoch, 0o644, 0, 0, "", ""
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
            done += info.size
            if done - reported >= PROGRESS_STEP:
                reported = done
                say(f"writing {archive_path.name}: {_gib(done)} of {_gib(total)}")
        stack.close()  # the end of the archive and of the gzip stream are written now, before the rename
        raw.flush()
        os.chmod(buffer_path, 0o644)  # mkstemp made it private; a bundle is for sharing, like the lock
        os.replace(buffer_path, archive_path)


class NoSuchBundleError(BundleError, UsageError):
    """``--bundle`` names nothing that can be a bundle: an argument problem, exit 2 (as is a bundle that is there
    but fails its checks, a ``BadBundleError``)."""

    exit_code = 2


def open_bundle(
    path: str | os.PathLike[str], workdir: Path, progress: Progress | None = None, limits: ArchiveLimits | None = None
) -> Bundle:
    """A bundle directory, or an archive unpacked (safely) under ``workdir``, after its SHA256SUMS is checked
    in full: nothing of a bundle is read before that. Then its lock is read. What fails names the file in the
    folder, or in an archive the member inside it (``supp.tar.gz: wheels/x.whl: hash mismatch: ...``), never the
    temporary copy the archive was unpacked to, which the caller removes before the message is read."""
    if not os.fspath(path):
        from .._readlimits import empty_path

        raise NoSuchBundleError(empty_path("bundle"))
    p = Path(path)
    if p.is_dir():
        bundle = Bundle(p)
    elif p.is_file() and is_archive(p):
        bundle = extract(p, workdir / "bundle", limits=limits, progress=progress)
    else:
        from .._readlimits import file_head, foreign_archive

        # A supplement zipped for its deposit, or tarred with another compression: there, and said what it is.
        refusal = foreign_archive(p, file_head(p)) if p.is_file() else ""
        raise NoSuchBundleError(
            refusal or f"{p}: no such bundle (a directory or a .tar.gz/.tar made by `envsnap bundle`)"
        )
    bundle.verify_sums(progress)
    bundle.lock  # noqa: B018 (read now, while its errors can name the archive's member)
    return bundle


def refuse_broken_archive(path: str | os.PathLike[str], error: NotALockfileError) -> None:
    """Raise what the bundle reader (and ``audit``) says of ``path``, ``not a readable bundle archive (...)``, where
    ``error`` is the lock loader's refusal of it as no lock (no TOML, not text, empty) and its name is a bundle
    archive's (``.tar.gz``, ``.tgz``, ``.tar``): such a file is judged as the archive its name says by every command
    that takes a lock or a bundle, in the same words. Returns for any other file, and for one that unpacks after all
    (the loader's error stands); a lock named so is read as a lock before this is asked."""
    from ..errors import BundleNotALockError

    if isinstance(error, BundleNotALockError) or error.origin != str(Path(path)):
        return
    if not is_archive(path) or not os.path.isfile(path):
        return
    with _leftovers.held_dir(Path(tempfile.gettempdir()), "bundle") as tmp:  # as ``_lockarg``'s: clean finds it
        extract(Path(path), tmp / "bundle")


# ---------------------------------------------------------------------------------------------- making


@frozen
class BundleEntry:
    name: str
    version: str
    filename: str
    action: str  # present | fetched | from the download cache | from a find-links folder | built | reused
    rebuilt: bool = False


@frozen
class BundleResult:
    path: Path
    lock: Snapshot
    entries: tuple[BundleEntry, ...]
    seconds: float


@frozen
class BundleOptions:
    config: IndexConfig | None = None
    cache_dir: Path | None = None
    project_dir: Path | None = None  # what "{project}" in a recorded directory URL means
    python: str | None = None  # the interpreter that builds wheels from source (default: envsnap's)
    offline: bool = False  # fail rather than download or build
    allow_urls: tuple[str, ...] = ()  # --allow-url: lock URLs fetched beyond the fetch policy's default
    lock_path: Path | None = None  # the lock's file: left out of the project's state, as capture left it out
    # What the run does with the files, for its error: "bundled" (``envsnap bundle``), or a rebuild's own fetch.
    purpose: str = "bundled"


# ``BundleOptions.purpose`` of a rebuild without ``--bundle``, which fetches and builds the locked wheels itself: its
# error said "could not be bundled" of a command that makes no bundle.
FETCHED_FOR_REBUILD = "fetched or built for the rebuild"


class BundleOutputError(BundleError, UsageError):
    """The bundle cannot be written where ``-o`` says: bad input, like any file that cannot be written."""

    exit_code = 2


class BundleCacheError(BundleError, UsageError):
    """The download cache cannot be made: bad input (``--cache-dir`` or ``$XDG_CACHE_HOME``), not the bundle."""

    exit_code = 2


class LostBundleWheelError(BundleError, UsageError):
    """A lock's wheel that only the bundle it was rebuilt from holds (``from_a_bundle_wheel``), and nothing here
    does: the reader is to say where it is (a find-links folder), exit 2 before anything is fetched."""

    exit_code = 2


def download_cache(given: Path | None) -> Path:
    """The download cache (``--cache-dir``, else the default one), made when missing; ``BundleCacheError``
    naming it and the fix when it cannot be (``$XDG_CACHE_HOME`` names a file, a missing home)."""
    folder = given or cache_dir(ARTIFACTS_CACHE)
    try:
        if given is None:
            make_cache_dir(ARTIFACTS_CACHE)
        else:
            given.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else ""
        raise BundleCacheError(
            f"the download cache {folder} cannot be made: {exc.strerror or exc}{where}; name a folder you may "
            "write with --cache-dir DIR (or set XDG_CACHE_HOME to one)"
        ) from None
    return folder


def make_bundle(
    lock: Snapshot,
    output: Path,
    options: BundleOptions | None = None,
    progress: Progress | None = None,
    *,
    then: Callable[[Path, Snapshot], None] | None = None,
) -> BundleResult:
    """Create or complete the bundle at ``output`` (a directory, or a ``.tar.gz`` file).

    ``then(folder, lock)``: what the caller adds to the bundle's folder (the .deb files of ``--with-system-packages``,
    the saved base image of ``--with-base-image``, the artifact's files) once the packages are in, with the lock as
    bundled: an archive's folder before it is archived (it exists only here), a directory bundle while it is still
    marked as being made and its earlier files are kept, so a failure there is the run's (a re-bundle's earlier
    files put back, a new folder removed). Made after this call, a failed step left a new bundle complete-looking
    and an earlier one with the new lock and sums and a half-made ``debs/`` outside them.

    A directory this call creates is removed again when it fails: a new bundle is complete or absent (an
    existing one keeps what it had, so a re-run fetches only what is still missing)."""
    new_dir = not is_archive(output) and not output.exists()
    begun: list[bool] = []  # set once the bundle's folder is made and marked: the work has started
    try:
        return _make_bundle(lock, output, options, progress, then, begun=begun)
    except BaseException as exc:
        if new_dir:
            shutil.rmtree(output, ignore_errors=True)
        if isinstance(exc, OSError):
            named = str(exc.filename) if exc.filename else ""
            if named and not is_archive(output) and is_kept(os.path.relpath(named, output) + "/"):
                named = os.fspath(output)  # the folder a re-bundle keeps the earlier files in: gone once it ends
            elif named and is_archive(output) and _leftovers.is_leftover_name(os.path.basename(named)):
                named = os.fspath(output.parent)  # the archive's work folder or file beside it: never seen
            where = f" ({named})" if named else ""
            why = f"{exc.strerror or exc}{where}"
            if begun or exc.errno in _NO_ROOM:
                # The -o was written to already: a write that fails now (a full disk while the wheels, the .deb
                # files, the base image or the artifact go in) is the work failing, exit 4, not bad input.
                raise BundleWriteError(f"{output}: the bundle could not be made: {why}") from None
            raise BundleOutputError(f"{output}: cannot write the bundle: {why}") from None
        raise


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


class BundleWriteError(BundleError):
    """A write into the bundle failed once it had begun (a full disk, a quota, an I/O error): the environment, not
    the ``-o`` given, so the work failed (exit code 4); the bundle is left as a failed run leaves it."""


def check_output(output: Path) -> None:
    """Refuse an ``-o`` the bundle cannot be written to, before anything is fetched or written (bad input, exit 2):
    an archive's path that is a folder, a directory bundle's path that is a file, a folder that holds something but
    no envsnap bundle. Each was found late: the archive's after every wheel was fetched (its rename failed, naming
    a temporary file), the file's as a bundle that could not be made (exit 4)."""
    if is_archive(output):
        if output.is_dir():
            raise BundleOutputError(
                f"{output}: exists and is a directory, not an archive (name a new archive file, or the folder "
                "without its archive suffix for a directory bundle)"
            )
        return
    if output.exists() and not output.is_dir():
        raise BundleOutputError(f"{output}: exists and is not a directory (name a directory or a .tar.gz)")
    earlier = (output / INCOMPLETE).is_file() or ((output / SUMS).is_file() and (output / LOCK_NAME).is_file())
    if output.is_dir() and any(output.iterdir()) and not earlier:
        # Filling it would overwrite its README.md and requirements.txt and delete files from its wheels/.
        raise BundleOutputError(
            f"{output}: exists and is not an envsnap bundle (no {SUMS} and {LOCK_NAME}); "
            "name a new or empty directory, or an earlier bundle to complete"
        )
    if earlier:
        # An earlier bundle to complete that holds a link or special file (put there since): bundling it again kept
        # it and said "wrote", and the bundle then failed its own check in every later command.
        try:
            _bundle_files(output, strict=True)
        except BadBundleError as exc:
            if not exc.odd:
                raise BundleOutputError(f"{output}: {exc}") from None
            raise BundleOutputError(
                f"{output}: holds {grammar.shown(exc.odd)}, a link or special file, which a bundle cannot hold and "
                f"bundling again would keep: remove it (rm -- {sinks.shell_shown([str(output / exc.odd)])}) and bundle "
                "again"
            ) from None


def _make_bundle(
    lock: Snapshot,
    output: Path,
    options: BundleOptions | None,
    progress: Progress | None,
    then: Callable[[Path, Snapshot], None] | None = None,
    *,
    begun: list[bool] | None = None,
) -> BundleResult:
    opts = options or BundleOptions()
    begun = [] if begun is None else begun
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    check_output(output)  # the CLI asked already, before its own checks; a library caller is asked here
    if lock.conda is not None:  # a conda package no archive can be bundled for: before the bundle is touched
        from .conda import refuse_unusable

        refuse_unusable(lock.conda.packages)
    if is_archive(output):
        output.parent.mkdir(parents=True, exist_ok=True)
        # Held as envsnap's while in use: a run killed here leaves a folder the next run (or `envsnap clean`)
        # recognises and removes.
        with _leftovers.held_dir(output.parent, "bundle") as tmp:
            work = tmp / "bundle"
            if output.is_file():
                extract(output, work, progress=say)  # re-run on an archive: keep what it already holds
            else:
                work.mkdir()
            begun.append(True)
            result_lock, entries = _fill(lock, work, opts, say, shown=f"{LOCK_NAME} of {output}", output=output)
            if then is not None:
                then(work, result_lock)
            write_archive(work, output, say)
        return BundleResult(output, result_lock, tuple(entries), time.perf_counter() - started)
    output.mkdir(parents=True, exist_ok=True)
    # An earlier complete bundle: the files it holds, which a refused run leaves it with (as it was).
    held = _bundle_files(output) if (output / SUMS).is_file() and not (output / INCOMPLETE).exists() else None
    with _keeping(output, held):
        # Says "a bundle being made" until SHA256SUMS is written: a run killed before that is completed by the next.
        (output / INCOMPLETE).touch()
        begun.append(True)
        _remove_leftovers(output)
        result_lock, entries = _fill(lock, output, opts, say, shown=str(output / LOCK_NAME), output=output)
        if then is not None:
            then(output, result_lock)
        (output / INCOMPLETE).unlink(missing_ok=True)
    return BundleResult(output, result_lock, tuple(entries), time.perf_counter() - started)


@contextlib.contextmanager
def _keeping(root: Path, held: Mapping[str, int] | None) -> Iterator[None]:
    """Re-bundling the earlier complete bundle at ``root`` (``held``, its files): each of its files (SHA256SUMS too) is
    kept, hard-linked (or copied) into a hidden folder at its top (``is_kept``: no reader counts it), while the run
    writes; where the run fails, every one it replaced or removed is put back. A wheel of the same file name with other
    bytes (a local project built again, a wheel from another find-links folder) was written over the earlier one, and a
    refused run left it there: the earlier bundle then failed its own SHA256SUMS. A run refused as bad input (exit 2:
    its lock refused at write, a URL the policy refuses) leaves the earlier bundle exactly as it was (what it added
    goes, and so does the marker, which made every command refuse it); any other failure (Ctrl-C too) leaves what it
    fetched for the next run (the files it added to ``wheels/``, ``conda/``, ``debs/`` and ``tool/``; not a saved
    image, which the engine here saves again: ``_take_back``), marked as being made, and the earlier files as they
    were: any other file it added (an artifact's, half made) goes, and where it leaves nothing it fetched, so does the
    marker (the earlier bundle, complete).

    Inside the bundle, not beside it: a bundle in a shared folder whose parent its user may not write (the bundle itself
    writable) was refused at that folder, exit 2; and a hard link there is always possible."""
    if held is None:
        yield
        return
    with _leftovers.held_dir(root, "bundle") as kept:
        for rel in [*held, SUMS]:
            _keep(root / rel, kept / rel)
        try:
            yield
        except BaseException as exc:
            _put_back(kept, root)
            refused = isinstance(exc, EnvsnapError) and exc.exit_code == 2
            _take_back(root, held, fetched=not refused)
            raise


def _keep(path: Path, copy: Path) -> None:
    """``path`` kept at ``copy``: a hard link where the file system makes one (the same file, no bytes copied), a
    copy where it does not. Every write into a bundle replaces a file (renamed into place) or removes it, so the
    link keeps the earlier bytes."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, copy)
    except OSError:
        shutil.copy2(path, copy)


def _put_back(kept: Path, root: Path) -> None:
    """Each file ``_keep`` kept under ``kept`` put back at its place in ``root`` where the run replaced or removed it
    (SHA256SUMS too): what is left of the earlier bundle is then every one of its files as it was."""
    for rel in [*_bundle_files(kept), SUMS]:
        target = root / rel
        if not (kept / rel).is_file():
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(kept / rel, target):
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(kept / rel, target)


def _take_back(root: Path, held: Mapping[str, int], *, fetched: bool = False) -> None:
    """Remove from ``root`` the files a run added to the bundle that ``held`` lists, the folders it made for them,
    and the marker of a bundle being made; ``fetched``: but the packages it fetched (a file in a folder of
    ``_FETCHED``: not a saved image, which the engine here saves again) and the marker, which the next run
    completes. Where no file it fetched is left, the earlier files put back (``_put_back``) are the complete bundle it
    was, and the marker goes too: a Ctrl-C in a re-bundle that had written files again (the lock, README, an
    artifact's REPRODUCING.md "(being graded)"), every one put back, left it marked as being made, refused by every
    reader."""
    for rel in _bundle_files(root):
        if rel not in held and not (fetched and rel.partition("/")[0] in _FETCHED and "/" in rel):
            (root / rel).unlink(missing_ok=True)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        if is_kept(f"{folder.relative_to(root).as_posix()}/"):
            continue  # the kept folder and what is in it: ``_keeping``'s to remove
        if not any(folder.iterdir()) and not any(
            rel.startswith(f"{folder.relative_to(root).as_posix()}/") for rel in held
        ):
            folder.rmdir()
    if not fetched or all(rel in held for rel in _bundle_files(root)):
        (root / INCOMPLETE).unlink(missing_ok=True)


def _remove_leftovers(root: Path) -> None:
    """What a killed run left inside a bundle (``.envsnap-build-*`` folders, ``*.part`` downloads, half-saved images):
    a bundle holds no hidden file of its own, so every one below its top two levels but the marker is a leftover;
    but not the folder a running re-bundle keeps the earlier files in (held: ``_keeping``)."""
    folders = [root, *(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))]
    for folder in folders:
        for entry in list(folder.iterdir()):
            if (
                entry.name.startswith(".")
                and entry.name != INCOMPLETE
                and not (_leftovers.is_leftover_name(entry.name) and _leftovers.in_use(entry))
                and not (folder == root and entry.name in PUBLISHED_HIDDEN)
            ):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def _named(pkg: PythonPackage, message: str) -> str:
    """``message`` of what went wrong with ``pkg``, beginning with its label (``labpkg 0.3.0: ...``) unless it names
    the package first already (``labpkg: ...``, ``labpkg 0.3.0: ...``): a message that begins with the wheel's file
    name (``labpkg-0.3.0-py3-none-any.whl: ...``) begins with the name too, and was left unnamed when only the name
    was looked for."""
    named = message.startswith(pkg.name) and message[len(pkg.name) : len(pkg.name) + 1] in (":", " ")
    return message if named else f"{package_label(pkg)}: {message}"


def package_label(pkg: PythonPackage) -> str:
    """How an error names a package: ``torch 2.4.0`` (a local project imported without a version: its name)."""
    return f"{pkg.name} {pkg.version}" if pkg.version else pkg.name


def _local_tree(pkg: PythonPackage, project_dir: Path | None) -> Path:
    """Where a package installed from a local directory is on this machine (its recorded URL and subdirectory),
    whether or not anything is there; ``BundleError`` when the URL names no place here."""
    tree = _local_place(pkg, pkg.source.url, project_dir)
    return join_relative(tree, pkg.source.subdirectory, "subdirectory") if pkg.source.subdirectory else tree


def missing_local_trees(packages: Iterable[PythonPackage], project_dir: Path | None) -> list[Path]:
    """The folders on this machine of the packages installed from a local directory (``file://~/labutil``, a
    ``{project}`` folder) that are not there: where a reader would clone or copy each project."""
    missing = []
    for pkg in packages:
        if pkg.source.kind != "directory":
            continue
        try:
            tree = _local_tree(pkg, project_dir)
        except BundleError:
            continue
        if not tree.is_dir():
            missing.append(tree)
    return missing


def local_source(pkg: PythonPackage, project_dir: Path | None) -> Path:
    """The source tree of a package installed from a local directory, on this machine. ``BundleError`` says
    why it cannot be found (``{project}`` without a project, a directory inside the captured environment, a folder
    that is not the project: ``_localurls.project_fault``)."""
    tree = _local_tree(pkg, project_dir)
    fault = project_fault(tree, pkg.name)
    if fault is None:
        return tree
    # The git work tree around the working directory is ``{project}``: a reader's own project, where a bundle was
    # unpacked, was taken for the lock's, named as the source of its wheel and for ``pip install -e``.
    hint = "run inside the project or name it with --project DIR"
    if not tree.is_dir():
        raise BundleError(f"{package_label(pkg)}: {fault}" + ("" if project_dir else f" ({hint})"))
    raise BundleError(f"{package_label(pkg)}: {fault}; {hint}")


def outside_project_notes(lock: Snapshot) -> list[str]:
    """A note for each local project the lock has a rebuild build from a folder outside the project (a directory
    source with no wheel, recorded by its absolute or ``~`` path): the folder of this machine its build backend runs
    in. A lock imported from a stranger's pylock (``directory = {path = "../../../x"}``, which PEP 751 reads from the
    pylock's folder) named such a folder, and ``check`` and ``rebuild`` said nothing of it. The URL is the lock's, as
    recorded (named by its decoded path); nothing is looked up."""
    return [
        f"{package_label(pkg)} is built from {sinks.place_shown(pkg.source.url)}, a folder of this machine outside "
        "the project that the "
        "lock names (a lock made from a stranger's pylock can name any folder): check that it is the project you mean"
        for pkg in lock.pip_layer()
        if pkg.source.kind == "directory"
        and pkg.artifact is None
        and not pkg.source.url.startswith("file://" + fileurls.PROJECT)
    ]


class ProjectOptionError(BundleError, UsageError):
    """``--project DIR`` names a folder that is not the project the lock records: bad input."""

    exit_code = 2


def _local_place(pkg: PythonPackage, url: str, project_dir: Path | None) -> Path:
    """The folder ``url`` (a local project's or repository's) names here, ``BundleError`` naming ``pkg`` when it
    names none (``HiddenNameError`` for a path recorded without the login or host name)."""
    from .pin import HiddenNamePathError, local_project_dir

    try:
        return local_project_dir(url, project_dir)
    except HiddenNamePathError as exc:
        raise HiddenNameError(f"{package_label(pkg)}: {exc}") from None
    except PinError as exc:
        raise BundleError(f"{package_label(pkg)}: {exc}") from None


class HiddenNameError(BundleError, UsageError):
    """A local project or repository the lock records with ``<user>`` or ``<host>`` in its path (capture hides
    them): no folder here, and no ``--project`` helps; the lock is bad input (exit 2), said on its own."""

    exit_code = 2


def check_named_project(lock: Snapshot, project_dir: Path) -> None:
    """``--project DIR``, as the user named it, against the lock: every local project the lock records inside the
    project (``file://{project}...``) must be a project folder there (pyproject.toml, setup.py or setup.cfg).
    ``ProjectOptionError`` naming DIR otherwise: pin reported such a folder as the project to build, and bundle
    and rebuild failed with exit 4 and "name it with --project DIR", which the user had done."""
    for pkg in lock.pip_layer():
        if pkg.source.kind != "directory" or not pkg.source.url.startswith("file://{project}"):
            continue
        try:
            local_source(pkg, project_dir)
        except BundleError:
            tree = _local_tree(pkg, project_dir)
            declared = declared_name(tree) if tree.is_dir() else None
            what = (
                f"is the project {grammar.shown(declared)}"
                if declared is not None
                else "is no project folder (no pyproject.toml, setup.py or setup.cfg)"
            )
            raise ProjectOptionError(
                f"--project {project_dir}: {tree} {what}, so not the project {package_label(pkg)} was installed "
                f"from ({pkg.source.url})"
            ) from None


def clone_source(pkg: PythonPackage, project_dir: Path | None) -> str:
    """What ``git clone`` gets for a VCS install: its URL, or for a local repository (``git+file://``, recorded
    as ``file://{project}/...`` or ``file://~/...``) the repository's path on this machine, which must exist."""
    url = pkg.source.url
    if not url.startswith("file:"):
        return url
    path = _local_place(pkg, url, project_dir)
    if not path.is_dir():
        # Moved or deleted since the capture: what to put back (any clone with the commit), and where the lock
        # names it inside the project, that the project may be elsewhere.
        where = ", or name the project it is in with --project DIR" if url.startswith("file://{project}") else ""
        holding = f" holding commit {pkg.source.commit_id[:12]}" if pkg.source.commit_id else ""
        raise BundleError(
            f"{package_label(pkg)}: the local git repository {path} does not exist on this machine: put a clone of it"
            f"{holding} there{where}"
        )
    return str(path)


def precheck(lock: Snapshot, opts: BundleOptions, root: Path | None = None) -> list[str]:
    """Everything that can be checked before anything is fetched or built, as one list of problems: every
    local project present, every VCS install buildable, nothing to look up when offline, room on disk for the
    files still to download. ``bundle`` and ``rebuild`` fail with the whole list (``precheck_line``) instead of
    stopping at the first problem after fetching everything else."""
    return [text for text, _unpinnable in _precheck(lock, opts, root)]


def precheck_line(lock: Snapshot, opts: BundleOptions, root: Path | None = None) -> tuple[int, str]:
    """``precheck``'s problems, how many and as the one line ``bundle`` and ``rebuild`` refuse with ("" for none).
    Each is said in full but the packages pin refuses after the first, which are named a few and counted, as
    ``envsnap pin`` lists every one with its reason on a line of its own: Debian's python3 under a venv made with
    --system-site-packages records some twenty egg-info installs, and their reasons made a line of 10 KB."""
    found = _precheck(lock, opts, root)
    unpinnable = [label for _text, label in found if label]
    texts: list[str] = []
    for text, label in found:
        if not label or label == unpinnable[0]:
            texts.append(text)
        elif label == unpinnable[1]:
            texts.append(
                f"not pinnable as well: {first_few(unpinnable[1:], 3)} (`{pin_command(opts.lock_path)}` names each "
                "with its reason)"
            )
    return len(found), "; ".join(texts)


def _precheck(lock: Snapshot, opts: BundleOptions, root: Path | None) -> list[tuple[str, str]]:
    """``precheck``'s problems, each with the label of the package pin refuses ("" for another problem)."""
    from .pin import check_git_url, hash_only, local_find_links, read_pip_config, untagged_reason

    problems: list[tuple[str, str]] = []

    def add(text: str, unpinnable: str = "") -> None:
        problems.append((text, unpinnable))

    to_fetch = 0
    policy: FetchPolicy | None = None  # read (pip's configuration) at the first URL it must judge, once
    # --offline pins from the configured find-links folders on this machine, when there are any (pin says then
    # which package none of them holds); without one, nothing could pin what the lock leaves unpinned.
    folders: tuple[str, ...] | None = None
    for pkg in lock.pip_layer():
        src, art = pkg.source, pkg.artifact
        label = package_label(pkg)
        if art is not None and not hash_only(art):
            here = root is not None and (root / WHEELS / art.filename).is_file()
            # A wheel a bundle built from a local folder or a git checkout is on no index: where neither this bundle
            # nor the download cache holds it, ``_bundle_one`` builds it again from that source, which is checked
            # below as a source with no wheel is, before anything is fetched (a bundle's lock rebuilt without
            # --bundle downloaded every other wheel first, then failed on the project's).
            from_source = not here and art.rebuilt and src.kind in ("directory", "vcs")
            if not (from_source and not _cached_file(art, opts.cache_dir)):
                if not here:
                    to_fetch += art.size
                continue
        if src.kind == "directory":
            try:
                local_source(pkg, opts.project_dir)
            except HiddenNameError:
                raise
            except BundleError as exc:
                add(str(exc))
        elif src.kind == "vcs":
            if not src.commit_id:
                add(f"{label}: VCS install of {src.url} without a recorded commit")
            elif src.vcs and src.vcs != "git":
                add(f"{label}: {src.vcs} checkouts are not supported (only git)")
            elif _tools.git() is None:
                add(f"{label}: git is needed to build it from {src.url} and is not installed")
            else:
                try:
                    clone_source(pkg, opts.project_dir)
                except HiddenNameError:
                    raise
                except BundleError as exc:
                    add(str(exc))
                if opts.offline and not src.url.startswith("file://"):  # asked of no one: not even its host's name
                    add(
                        f"{label}: its git URL {src.url} is not on this machine, and --offline forbids cloning it "
                        "(bundle it where the network is; an offline re-run into that bundle builds nothing)"
                    )
                else:
                    # A URL the fetch policy refuses is refused now, on its own (exit 2), before any wheel is
                    # fetched: it was refused only when its turn to be cloned came.
                    policy = policy or _lock_policy(opts)
                    check_git_url(policy, pkg)
        elif untagged := untagged_reason(pkg, bool(lock.envsnap.origin)):
            # Refused by pin whatever the indexes hold (python-apt's egg-info under a --system-site-packages venv):
            # said now, and by a dry run, not after every other package was looked up.
            add(f"{label}: not pinnable: {untagged}", label)
        elif opts.offline:
            if folders is None:
                folders = local_find_links(opts.config or read_pip_config())
            if not folders and not _names_a_folder_here(pkg, opts.project_dir) and not _cached(pkg, opts.cache_dir):
                add(
                    f"{label}: not pinned, and --offline forbids looking it up (run `{pin_command(opts.lock_path)}` "
                    "first, or name a folder of wheels on this machine in PIP_FIND_LINKS or pip.conf's find-links)"
                )
    if root is not None and to_fetch:
        probe = root if root.exists() else root.parent
        try:
            free = shutil.disk_usage(probe).free
        except OSError:
            free = to_fetch
        if free < to_fetch:
            add(f"{probe}: {to_fetch / 2**30:.1f} GiB of wheels to download, {free / 2**30:.1f} GiB free")
    return problems


def _names_a_folder_here(pkg: PythonPackage, project_dir: Path | None) -> bool:
    """Whether the lock records ``pkg``'s file in a find-links folder on this machine (an import of a requirements
    file with ``--find-links ./wheels``: ``file://{project}/wheels``): ``--offline`` may pin from it, as the fetch
    policy allows (pin says what it refuses, and how to allow it)."""
    from ..interchange import is_find_links
    from .pin import local_dir

    places = [pkg.artifact.index] if pkg.artifact is not None else []
    for place in [*places, *(c.index for c in pkg.candidates)]:
        if not place or not is_find_links(place):
            continue
        try:
            folder = local_dir(place, project_dir) if "://" in place else Path(place)
        except (PinError, UnsafeInputError):
            continue
        if folder.is_dir():
            return True
    return False


def _cached_file(art: Artifact, given: Path | None) -> bool:
    """Whether the download cache (``--cache-dir``, else the default one) holds ``art``'s file, where ``_bundle_one``
    takes it from (its sha256 is checked as it is copied)."""
    from .pin import cached_path

    try:
        return cached_path(given or cache_dir(ARTIFACTS_CACHE), art.sha256, art.filename).is_file()
    except (UnsafeInputError, OSError):
        return False


def _cached(pkg: PythonPackage, given: Path | None) -> bool:
    """Whether the download cache (``--cache-dir``, else the default one) holds a file of a sha256 the lock lists
    for ``pkg`` by hash alone (a hashed requirement pinned once online): ``--offline`` may pin from it (pin says
    whether the file is of this release and its index one read online)."""
    from .pin import cached_names

    cache = given or cache_dir(ARTIFACTS_CACHE)
    return any(cached_names(cache, c.sha256) for c in pkg.candidates if not c.filename or not c.url)


OFFLINE_PIN_HINT = "--offline read only the find-links folders on this machine and the download cache"


def _lock_policy(opts: BundleOptions) -> FetchPolicy:
    """The fetch policy a bundle's fetches of lock URLs follow (``Pinner.policy``: the configured indexes and
    ``--allow-url``)."""
    from .pin import policy_for, read_pip_config

    return policy_for(opts.config or read_pip_config(), opts.allow_urls)


def _fail(problems: list[str], what: str, hint: str = "") -> None:
    if problems:
        more = "" if len(problems) == 1 else f"{len(problems)} problems: "
        raise BundleError(f"{what}: {more}" + "; ".join(problems) + (f" ({hint})" if hint else ""))


def _made_from(lock: Snapshot, given: Snapshot) -> Snapshot:
    """The bundle's lock naming the lock it was made from (``made_from``: that lock's content digest, or the one
    that lock names itself), when the two differ: a run record of ``given`` names its digest, which the bundle's
    lock, pinned and sealed anew, no longer has (``rerun`` of a bundle's own record said the environment differs)."""
    origin = given.envsnap.made_from or given.envsnap.content_digest or lockfile.seal(given).envsnap.content_digest
    plain = dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, made_from=""))
    if lockfile.seal(plain).envsnap.content_digest == origin:
        return plain
    return dataclasses.replace(lock, envsnap=dataclasses.replace(lock.envsnap, made_from=origin))


def _fill(
    lock: Snapshot, root: Path, opts: BundleOptions, say: Progress, *, shown: str, output: Path | None = None
) -> tuple[Snapshot, list[BundleEntry]]:
    """Fetch and build into ``root`` what the lock names, then write the bundle's lock, README and sums. The lock is
    checked as it will be written (``LockfileError``, naming it as ``shown``) before anything but the files fetched
    is changed: no stale wheel removed, no conda archive, no README."""
    from .._fetchpolicy import FetchRefusedError
    from .pin import Pinner, hash_only, pin, read_pip_config, unchecked_stand_in

    given = lock

    (root / WHEELS).mkdir(exist_ok=True)
    for sub in (CONDA, IMAGES):  # made by what fills them; an empty one an earlier envsnap made goes
        with contextlib.suppress(OSError):
            (root / sub).rmdir()
    previous = _previous_lock(root)
    config = opts.config or read_pip_config()
    moved = project_drift(lock, opts)
    # A local project's earlier wheel is the same code only when that bundle's lock recorded the project as this
    # lock does, and the work tree is still there (an offline re-run of an unchanged bundle needs no build).
    same_project = not moved and previous is not None and previous.project == lock.project
    lock = _reuse_rebuilt(lock, previous, root, local=same_project)
    if opts.offline:  # the pins of an earlier bundle of this lock are here: pinning would look them up again
        lock = _reuse_pinned(lock, previous, root)
    count, refused = precheck_line(lock, opts, root)
    if count:
        raise BundleError(f"nothing was fetched: {'' if count == 1 else f'{count} problems: '}{refused}")
    if _built_from_project(lock):  # said only where the work tree is built from now
        for line in moved:
            say(line)
    cache = download_cache(opts.cache_dir)
    pinner = Pinner(config, cache, allow_urls=opts.allow_urls, offline=opts.offline)
    pinner.project_dir = opts.project_dir  # a pinned file inside the project: file://{project}/wheels/x.whl
    pinner.fetcher.collect_hints = True  # a 401's remedy is said once per index, after the list of problems
    _refuse_lost_bundle_wheels(lock, root, pinner)
    try:
        _refuse_lock_urls(lock, root, pinner, opts)
    except FetchRefusedError as exc:
        raise _hinted(exc, pinner) from None
    missing = [
        p
        for p in lock.pip_layer()
        if (p.artifact is None or hash_only(p.artifact) or unchecked_stand_in(p))
        and p.source.kind in ("index", "archive")
    ]
    if missing:
        where = "the find-links folders on this machine (--offline)" if opts.offline else "the configured indexes"
        say(f"pinning {counted(len(missing), 'package')} against {where}")
        names = {p.name for p in missing}
        result = pin(
            lock,
            config,
            cache_dir=cache,
            only=lambda p: p.name in names,
            project_dir=opts.project_dir,  # a find-links folder in the project is recorded as file://{project}/...
            allow_urls=opts.allow_urls,
            offline=opts.offline,  # the local find-links folders and the download cache only
            written=True,  # into the bundle
        )
        lock = result.snapshot
        # Every package must have its file before any wheel is fetched or built: the whole list, by name.
        failed = [
            (p, o)
            for o in result.outcomes
            if o.status == "unpinned"
            for p in [lock.package(o.name)]
            if p is not None and (p.artifact is None or hash_only(p.artifact))
        ]
        # A URL of the lock the fetch policy refuses is bad input (exit 2), whether the lock pins its file or pin was
        # to read it now (a wheel installed from a path outside the project): one rule, said before anything else.
        refusals = [f"{package_label(p)}: {o.reason}" for p, o in failed if o.refused]
        if refusals:
            more = "" if len(refusals) == 1 else f"{len(refusals)} problems: "
            said = f" ({'; '.join(result.hints)})" if result.hints else ""
            raise FetchRefusedError(f"nothing was fetched: {more}" + "; ".join(refusals) + said)
        _fail(
            [f"{package_label(p)}: {o.reason}" for p, o in failed],
            "not every package could be pinned, nothing was fetched",
            "; ".join(
                [
                    *[hint for hint in [result.find_links_hint(o for _p, o in failed)] if hint],
                    *result.hints,
                    *([OFFLINE_PIN_HINT] if opts.offline else []),
                ]
            ),
        )
    from .pin import stand_in_note

    for pkg in lock.python.packages:  # the index's build of what a Debian package installed: said, once each
        if note := stand_in_note(pkg):
            say(f"warning: {pkg.name} {pkg.version}: {note}")
    entries: list[BundleEntry] = []
    packages = []
    problems: list[str] = []
    offline_missing = False  # a pinned wheel --offline found nowhere here: the hint says where it looked
    placed = _prefetch(lock.python.packages, root, pinner, opts, say)
    for pkg in lock.python.packages:
        if pkg.conda_layer:
            packages.append(pkg)
            continue
        try:
            pkg, entry = _bundle_one(pkg, root, pinner, opts, say, placed)
        except FetchRefusedError as exc:
            raise _hinted(exc, pinner) from None  # the lock asked for a fetch the policy refuses: bad input
        except (BundleError, PinError) as exc:
            message = str(exc)
            offline_missing = offline_missing or isinstance(exc, OfflineMissError)
            problems.append(_named(pkg, message))
            packages.append(pkg)
            continue
        packages.append(pkg)
        entries.append(entry)
    if problems:
        hints = [*pinner.fetcher.hint_lines(), *([_offline_hint(pinner, opts, output)] if offline_missing else [])]
        raise BundleError(
            f"{len(problems)} package(s) could not be {opts.purpose}: "
            + "; ".join(problems)
            + (f" ({'; '.join(hints)})" if hints else "")
        )
    lock = dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages)))
    # A bundle is published like an export: an imported or older lock may hold a credential, a signed URL or a
    # secret variable that a capture today would not record. Its lock is written without them, sealed anew
    # (the bundle's lock already differs from the input by its artifacts; the README and appendix cite this
    # digest). Every file was fetched above, with the URLs as given. Its text is made (and checked) here.
    written = _made_from(scrub_snapshot(lock), given)
    text = lockfile.dumps(written, where=shown)
    _remove_stale_wheels(root, lock)
    if lock.conda is not None and lock.conda.packages:
        from .conda import bundle_conda_packages

        bundle_conda_packages(
            lock, root, offline=opts.offline, progress=say, allow_urls=opts.allow_urls, project_dir=opts.project_dir
        )
    lock = written
    lockfile.write_text(text, root / LOCK_NAME)
    atomic_write_text(root / REQUIREMENTS, requirements_text(lock))
    from .. import _templates  # jinja2 only when writing a bundle

    lock = lockfile.seal(lock)  # the README names the digest of the lock written above
    with sinks.refusing(BundleError, README):  # lock values in Markdown and in its shell lines
        readme = _templates.render(
            "bundle/README.md.j2",
            lock=lock,
            packages=[p for p in lock.pip_layer()],
            by_file=any(installs_by_file(p) for p in lock.pip_layer()),
            origins={p.name: readme_origin(p) for p in lock.pip_layer()},
            conda_archives=_conda_archives(lock),
            venv_seeds=interchange.venv_seeds_not_locked(lock),
        )
    atomic_write_text(root / README, readme)
    _write_appendix(lock, root)
    if any((root / part).is_dir() for part in _DOCKER_PARTS):
        # An earlier run's saved image and envsnap's wheels stay: the README written anew had no word of them.
        describe_bundle(root)
    Bundle(root).write_sums()
    return lock, entries


class OfflineMissError(BundleError):
    """A pinned wheel that ``--offline`` found in none of the places it reads (the bundle, the download cache, the
    find-links folders on this machine)."""


def _offline_hint(pinner: Pinner, opts: BundleOptions, output: Path | None) -> str:
    """Where ``--offline`` looked for the pinned wheels it did not find, and how to put them there, said once after
    the packages: each package's line said only "not in the bundle, the download cache or a find-links folder",
    neither which cache nor which folders, nor how to fill them. The command names the lock and the bundle as given
    (``opts.lock_path``, ``output``; it read ``envsnap bundle LOCK -o DIR``), placeholders where none is known."""
    from .pin import local_find_links

    folders = local_find_links(pinner.config)
    looked = (
        f"the find-links folders {', '.join(repr(f) for f in folders)}"
        if folders
        else "no find-links folder (none configured)"
    )
    lock_word = sinks.path_shown(os.fspath(opts.lock_path)) if opts.lock_path is not None else "LOCK"
    dest_word = sinks.shell_shown([os.fspath(output)]) if output is not None else "DIR"
    command = f"envsnap bundle {lock_word} -o {dest_word} --cache-dir {sinks.shell_shown([str(pinner.cache_dir)])}"
    return (
        f"--offline looked in the download cache {str(pinner.cache_dir)!r} and {looked}; fill the cache by running "
        f"the bundle once without --offline where the lock's URLs can be reached ({command}), or configure a folder "
        "on this machine that holds the wheels (PIP_FIND_LINKS=DIR or "
        "UV_FIND_LINKS=DIR)"
    )


def _hinted(exc: FetchRefusedError, pinner: Pinner) -> FetchRefusedError:
    """A refusal that stops the bundle, with each index's 401 remedy (``collect_hints`` kept them for a list of
    problems that this refusal never reaches: the refused file was looked for on an index that answered 401)."""
    from .._fetchpolicy import FetchRefusedError

    hints = pinner.fetcher.hint_lines()
    return FetchRefusedError(f"{exc} ({'; '.join(hints)})") if hints else exc


def _refuse_lock_urls(lock: Snapshot, root: Path, pinner: Pinner, opts: BundleOptions) -> None:
    """Every URL of the lock that the bundle would fetch (a pinned wheel or sdist not in the bundle, a conda archive
    not in ``conda/``), judged by the fetch policy before anything is fetched or copied: a refused one is
    ``FetchRefusedError`` (exit 2) now, not after every wheel was downloaded. A refused wheel URL whose file a
    configured index has is no refusal (``Pinner.check_artifact``); one the download cache holds still is (the cache
    never changes the answer). ``--offline`` fetches no wheel and asks nothing: the cache is what is here."""
    from .._fetchpolicy import FetchRefusedError
    from .conda import refuse_unfetchable
    from .pin import IndexFile, hash_only, here

    # A file the lock names by a path on this machine that is not there (uv export's find-links folder, moved or
    # deleted) cannot be had whatever is allowed: said first, for every such package (exit 4), not as a URL to
    # --allow-url that then failed to download.
    _fail(
        [
            f"{package_label(pkg)}: {why}"
            for pkg in lock.pip_layer()
            if (art := pkg.artifact) is not None and art.filename and not art.rebuilt and not hash_only(art)
            if not _in_bundle(root, art) and (why := pinner.missing_here(art))
        ],
        "nothing was fetched",
    )
    for pkg in [] if opts.offline else lock.pip_layer():
        art = pkg.artifact
        if art is None or art.rebuilt or not art.filename or _in_bundle(root, art):
            continue
        try:
            source = pinner.check_artifact(art)
        except FetchRefusedError:
            raise
        except (PinError, BundleError, UnsafeInputError):
            continue  # not a refusal: reported at the package's turn, with the others
        _refuse_special_file(pkg, file_url(art), source)
    for pkg in lock.pip_layer():
        # A local archive an import recorded (``name @ file:///.../x.whl``), pinned from its URL next: read as the
        # fetch policy allows it (pinning says why not, where it does not, or where its place is missing).
        if pkg.source.kind != "archive" or not (pkg.artifact is None or hash_only(pkg.artifact)):
            continue
        try:
            url = here(pkg.source.url, opts.project_dir)
        except (PinError, UnsafeInputError):
            continue
        if pinner.policy.refusal(url) is None:
            _refuse_special_file(pkg, pkg.source.url, IndexFile(filename="", url=url))
    if lock.conda is not None:
        refuse_unfetchable(lock.conda.packages, root / CONDA, opts.allow_urls, opts.project_dir)


def _refuse_special_file(pkg: PythonPackage, recorded: str, source: object) -> None:
    """``UnsafeInputError`` (exit 2) when the file a wheel's fetch would read from this machine is there and no
    regular file (a pipe, a device, a folder: a stranger's supplement unpacked there), refused unread as a conda
    archive is (``conda.fetch_archive``); it was a download that failed, exit 4, once the other wheels were in."""
    from .pin import IndexFile

    local = local_path(source.url) if isinstance(source, IndexFile) else None
    if local is None or local.is_file() or not os.path.lexists(local):
        return
    shown = f" ({local})" if fileurls.is_labelled(recorded) else ""  # the path looked at, where a label names it
    what = "wheel" if local.name.endswith(".whl") else "package archive"
    raise UnsafeInputError(
        f"{package_label(pkg)}: {recorded}{shown} is not a regular file (a pipe, a device or a folder is no {what}: "
        "not read)"
    )


def _in_bundle(root: Path, art: Artifact) -> bool:
    """The pinned wheel is in the bundle already (by name: its turn checks the hash); a bad name is not."""
    try:
        return art.filename.endswith(".whl") and join_base_name(root / WHEELS, art.filename).is_file()
    except (UnsafeInputError, ValueError):
        return False


def _write_appendix(lock: Snapshot, root: Path) -> None:
    """The appendix from the bundle's own (sealed) lock: the digest a paper cites is the one of the lock its
    supplement ships (an appendix exported from the captured lock cited another: the bundle adds artifacts)."""
    from .._fs import atomic_write_bytes
    from .appendix import render_latex, render_markdown

    for files in (render_markdown(lock, bundled=True), render_latex(lock, bundled=True)):
        for name, data in files.items():
            atomic_write_bytes(root / name, data)


def _conda_archives(lock: Snapshot) -> list[str]:
    """The bundled conda archives, dependencies first (the order an explicit file is linked in); the README
    rebuilds a conda lock with the conda target, or by hand from them."""
    if lock.conda is None or not lock.conda.packages:
        return []
    from .conda import archive_name, install_order

    return [archive_name(p) for p in install_order(lock.conda.packages)]


def _previous_lock(root: Path) -> Snapshot | None:
    path = root / LOCK_NAME
    if not path.is_file():
        return None
    try:
        return lockfile.load(path)
    except Exception:
        return None


def project_drift(lock: Snapshot, opts: BundleOptions) -> list[str]:
    """A warning, as one line, when a package built from the project (``file://{project}``) is built from a work
    tree that is not at the state the lock recorded (``[project]``: its commit and uncommitted change): the wheel
    then holds other code than the locked environment ran, though every check passes. [] where nothing differs,
    nothing is built from the project, the lock records no project state, or the commits since change only envsnap's
    files (the lock is committed after the state it records)."""
    from ..probes.project import drift, envsnap_commits, probe_project

    built = _built_from_project(lock)
    if not built or lock.project is None or not lock.project.commit or opts.project_dir is None:
        return []
    exclude = [str(opts.lock_path)] if opts.lock_path is not None else []
    now = probe_project(str(opts.project_dir), exclude=exclude)
    lines = drift(lock.project, now, opts.project_dir)
    if not lines or envsnap_commits(lock.project, now, opts.project_dir, exclude) is not None:
        return []
    # What to do, either way: the locked code back in the work tree, or a lock of the code as it is.
    changed = " with its recorded uncommitted change" if lock.project.dirty else ""
    # No work tree read (none, or one git refuses as another user's): not known to differ, not known not to.
    lead = (
        "the project's work tree cannot be compared with the state the lock recorded"
        if now is None
        else "the project is not at the state the lock recorded"
    )
    return [
        f"warning: {lead} ({'; '.join(lines)}): "
        f"{', '.join(built)} built from the work tree as it is now; to build the locked code, check out commit "
        f"{lock.project.commit[:12]}{changed} first, or capture again to lock the code as it is"
    ]


def _built_from_project(lock: Snapshot) -> list[str]:
    """The packages a bundle builds from the project itself (``file://{project}``, no file yet), by label."""
    return [
        package_label(p)
        for p in lock.pip_layer()
        if p.artifact is None and p.source.kind == "directory" and p.source.url.startswith("file://{project}")
    ]


def _reuse_rebuilt(lock: Snapshot, previous: Snapshot | None, root: Path, *, local: bool) -> Snapshot:
    """Carry over wheels built by an earlier run for the same source, when their file is still intact. A local
    directory's only when ``local``: its code may change under the same recorded source (a VCS install's source
    names its commit), so it is built again unless the project is at the state the earlier bundle recorded."""
    if previous is None:
        return lock
    packages = []
    for pkg in lock.python.packages:
        old = previous.package(pkg.name)
        if (
            pkg.artifact is None
            and (local or pkg.source.kind != "directory")
            and old is not None
            and old.artifact is not None
            and old.artifact.rebuilt
            and old.version == pkg.version
            and old.source == pkg.source
        ):
            path = join_base_name(root / WHEELS, old.artifact.filename)
            if path.is_file() and sha256_file(path) == old.artifact.sha256:
                pkg = dataclasses.replace(pkg, artifact=old.artifact)
        packages.append(pkg)
    return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages)))


def _reuse_pinned(lock: Snapshot, previous: Snapshot | None, root: Path) -> Snapshot:
    """Take the pins of an unpinned lock's index packages from a complete earlier bundle of the same lock (an
    offline re-run of ``bundle LOCK -o DIR`` into the bundle it made). The bundle's lock is a claim, so each pin is
    proven as ``pin`` proves one: the earlier lock is the one ``SHA256SUMS`` lists and has this lock's packages,
    versions and RECORD digests (``check_made_from``); each wheel is in the bundle, listed with its pinned sha256
    and hashing to it, of this name, version and tags, and holds the installed files (its RECORD digest) or is
    the file this lock knows by hash. A package that fails any of these stays unpinned."""
    import zipfile

    from ..probes.records import wheel_record_digest
    from .pin import hash_only, wheel_matches

    if previous is None:
        return lock
    try:
        sums = read_sums(root / SUMS)
        if sums.get(LOCK_NAME) != known_sha256(root / LOCK_NAME):
            return lock  # an interrupted run's lock, or one changed after bundling
        check_made_from(lock, previous, root, project_code=False)  # index pins: the project's code is not reused
    except (BadBundleError, OSError):
        return lock
    packages = []
    for pkg in lock.python.packages:
        old = previous.package(pkg.name)
        art = old.artifact if old is not None else None
        wanted = pkg.artifact.sha256 if pkg.artifact is not None and hash_only(pkg.artifact) else ""
        if (
            (pkg.artifact is None or wanted)
            and not pkg.conda_layer
            and pkg.source.kind in ("index", "archive")
            and old is not None
            and old.source == pkg.source
            and art is not None
            and not art.rebuilt
            and sums.get(f"{WHEELS}/{art.filename}") == art.sha256
            and (not wanted or wanted == art.sha256)
            and (not pkg.wheel_tags or wheel_matches(art.filename, pkg))
        ):
            try:
                path = join_base_name(root / WHEELS, art.filename)
                proven = known_sha256(path) == art.sha256 and (
                    not pkg.record_digest or wheel_record_digest(str(path)) == pkg.record_digest
                )
            except (OSError, UnsafeInputError, ValueError, zipfile.BadZipFile):
                proven = False  # not the file pin proved: it stays unpinned, and the offline check names it
            if proven:
                pkg = dataclasses.replace(pkg, artifact=art)
        packages.append(pkg)
    return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=tuple(packages)))


# Wheels downloaded at once: enough to hide each request's latency, few enough for one index and one disk.
PARALLEL_FETCHES = 4


def _prefetch(
    packages: Iterable[PythonPackage], root: Path, pinner: Pinner, opts: BundleOptions, say: Progress
) -> dict[str, str]:
    """Place the pinned wheels that are not in the bundle yet, ``PARALLEL_FETCHES`` at a time: each from the
    download cache, downloaded into it first when missing (``fetch_wheel``, through ``Pinner.fetch``: the fetch
    policy, the size limit and the sha256 check hold for every request). Returns the file names placed, each with
    where it came from (``fetch_wheel``);
    ``_bundle_one`` then reports each in the lock's order. A wheel that failed here is left for it, which tries
    once more and reports the failure as it always has."""
    from .pin import cached_path

    wanted: list[tuple[Artifact, Path, Path]] = []
    missing = 0
    for pkg in packages:
        art = pkg.artifact
        if (
            pkg.conda_layer
            or art is None
            or art.rebuilt
            or not art.filename.endswith(".whl")
            or not grammar.is_sha256_hex(art.sha256)
        ):
            continue
        try:
            dest = join_base_name(root / WHEELS, art.filename)
            if dest.is_file():
                continue
            cached = cached_path(pinner.cache_dir, art.sha256, art.filename)
        except (UnsafeInputError, ValueError):
            continue  # a file name that is no base name: _bundle_one refuses it in its turn
        present = cached.is_file()
        if opts.offline and not present:
            continue
        missing += not present
        wanted.append((art, dest, cached))
    if len(wanted) < 2:
        return {}
    from concurrent.futures import ThreadPoolExecutor

    if missing:
        say(f"downloading {counted(missing, 'wheel')}, {min(PARALLEL_FETCHES, missing)} at a time")

    def place(art: Artifact, dest: Path, cached: Path) -> tuple[str, str]:
        return art.filename, fetch_wheel(art, dest, pinner, offline=opts.offline, cached=cached)

    placed: dict[str, str] = {}
    pool = ThreadPoolExecutor(max_workers=PARALLEL_FETCHES, thread_name_prefix="envsnap-fetch")
    try:
        for future in [pool.submit(place, *entry) for entry in wanted]:
            with contextlib.suppress(PinError, BundleError, OSError):  # met again, and said, by _bundle_one
                name, came = future.result()
                placed[name] = came
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return placed


def _bundle_one(
    pkg: PythonPackage,
    root: Path,
    pinner: Pinner,
    opts: BundleOptions,
    say: Progress,
    placed: Mapping[str, str] | None = None,
) -> tuple[PythonPackage, BundleEntry]:
    from .pin import cached_path

    art = pkg.artifact
    # The version is the build's where the lock had none (an import of a local project or a git dependency whose
    # version is dynamic), or a bundle before this one took it from the wheel it built: the lock's identity counts
    # it as unknown still (lockfile.identity_digest), so a run recorded with the lock takes this one as its own.
    learned = not pkg.version or (art is not None and art.rebuilt and art.version_from_build)
    if art is not None and art.filename.endswith(".whl"):
        dest = join_base_name(root / WHEELS, art.filename)
        if dest.is_file() and known_sha256(dest) == art.sha256:
            came = (placed or {}).get(art.filename)
            pkg = _with_built_record_digest(pkg, dest)
            if came is not None:  # by _prefetch, in this run
                say(_taken(came, art.filename))
                return pkg, BundleEntry(pkg.name, pkg.version, art.filename, came, art.rebuilt)
            return pkg, BundleEntry(pkg.name, pkg.version, art.filename, "present", art.rebuilt)
        kept = from_a_bundle_wheel(pkg)  # no source to build it from: the file, where this machine holds it
        if art.rebuilt and not kept and not cached_path(pinner.cache_dir, art.sha256, art.filename).is_file():
            pkg = dataclasses.replace(pkg, artifact=None)  # its wheel is gone: build it again below
        else:
            came = fetch_wheel(art, dest, pinner, offline=opts.offline or kept)
            say(_taken(came, art.filename))
            pkg = _with_built_record_digest(pkg, dest)
            return pkg, BundleEntry(pkg.name, pkg.version, art.filename, came, art.rebuilt)
    # --offline builds from what is here: the source on this machine (precheck refused a git URL that is not), the
    # build's requirements from the find-links folders on this machine only, no index.
    offline_links = pinner.config.find_links if opts.offline else None
    # Held as envsnap's (a clone, an sdist, the build's output): what a killed bundle left is one the next bundle
    # into this folder, and `envsnap clean BUNDLE_DIR`, remove.
    with _leftovers.held_dir(root, "build") as work:
        source, origin, sdist_sha256 = _source_tree(pkg, work, pinner, opts)
        local = pkg.artifact is None and pkg.source.kind == "directory"  # a copy, without git
        variables = pretend_version(pkg.name, pkg.version) if local else {}
        wheel = build_wheel(source, work / "out", opts.python, variables, offline_links=offline_links)
        built, version = _check_built(wheel, pkg)
        pkg = dataclasses.replace(pkg, version=version)
        dest = join_base_name(root / WHEELS, built.name)
        shutil.move(str(built), dest)
    from .peercache import copy_verified

    sha = sha256_file(dest)
    # Kept in the download cache too, so another bundle of the same lock needs no build: written beside and
    # renamed into place, so a full disk or a kill never leaves a wheel cut short under its sha256 there, and a
    # cache that cannot hold it costs that build later, never this bundle.
    cached = cached_path(pinner.cache_dir, sha, dest.name)
    if not cached.is_file():
        with contextlib.suppress(OSError):
            copy_verified(dest, cached, sha, dest.stat().st_size)
    artifact = Artifact(
        filename=dest.name,
        url=origin,
        sha256=sha,
        size=dest.stat().st_size,
        rebuilt=True,
        version_from_build=learned,
        sdist_sha256=sdist_sha256,
        built_record_digest=_built_record_digest(pkg.name, dest),
    )
    # Which folder of a monorepo was built: the URL names only the repository (as pin's "kept" line says it).
    sub = f" (subdirectory {pkg.source.subdirectory})" if pkg.source.subdirectory else ""
    # An sdist a lock names by its name in a find-links folder has no URL to record (``url`` ""): the line names its
    # place in that folder (it said "built X from ", naming nothing).
    place = origin or (_shown_place(file_url(pkg.artifact), opts.project_dir) if pkg.artifact is not None else "")
    say(f"built {dest.name} from {place}{sub}")
    return dataclasses.replace(pkg, artifact=artifact), BundleEntry(pkg.name, pkg.version, dest.name, "built", True)


def _shown_place(url: str, project_dir: Path | None) -> str:
    """A lock's file URL as a line shows it: the file on this machine, or the URL as the lock writes it where its
    project is not known here (the sdist taken from the download cache by its sha256)."""
    try:
        return here(url, project_dir)
    except (PinError, UnsafeInputError):
        return url


def _built_record_digest(name: str, wheel: Path) -> str:
    """The RECORD digest of a wheel the bundle built (``artifact.built_record_digest``): the files it installs, which
    need not be those the lock's install had (``record_digest``, kept as the author's: the lock's identity). A wheel
    whose RECORD cannot be read is no build a lock can vouch for."""
    import zipfile

    from ..probes.records import wheel_record_digest

    try:
        return wheel_record_digest(str(wheel))
    except (OSError, UnicodeError, UnsafeInputError, ValueError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{name}: {wheel.name}: its RECORD cannot be read: {exc}") from None


def _with_built_record_digest(pkg: PythonPackage, wheel: Path) -> PythonPackage:
    """``pkg`` whose wheel the bundle built, taken again (a bundle of a bundle's lock), with its wheel's RECORD digest
    where its lock records none (a bundle of an envsnap that did not record it): the file is the pinned one, by its
    sha256."""
    art = pkg.artifact
    if art is None or not art.rebuilt or art.built_record_digest:
        return pkg
    built = _built_record_digest(pkg.name, wheel)
    return dataclasses.replace(pkg, artifact=dataclasses.replace(art, built_record_digest=built))


def fetch_wheel(art: Artifact, dest: Path, pinner: Pinner, *, offline: bool, cached: Path | None = None) -> str:
    """Copy a pinned wheel to ``dest`` from the download cache, downloading it first if needed. The copy is
    hashed as it is written (one read of the cached file) and its digest remembered, so neither the bundle's
    check nor ``SHA256SUMS`` reads it again. ``cached``: its ``cached_path`` when the caller has it already. A
    cache entry that is not the pinned file (damaged, replaced) is dropped and the file downloaded again. Where
    the file came from, as the bundle's summary says it (``FETCHED``, ``FROM_CACHE``, ``FROM_FIND_LINKS``)."""
    from .pin import cached_path

    cached = cached or cached_path(pinner.cache_dir, art.sha256, art.filename)
    fresh = not cached.is_file()
    came = FROM_CACHE
    if fresh:
        if offline:
            local = pinner.local_copy(art)  # a configured find-links folder here holds it (checked by its sha256)
            if local is None:
                where = pinner.lock_folder_file(art)
                folder = local_path(where) if where else None
                # The folder, as ``pin`` names one (``--allow-url DIR`` reads the files the lock names there).
                from .._fetchpolicy import repository_allowance

                # Matching that folder alone (``[1]`` in its name as ``[[]1]``), a shell word (a newline as $'\x0a').
                shown = sinks.shell_shown([repository_allowance(folder.parent)]) if folder is not None else ""
                allow = f" (the lock's find-links folder is read once allowed: pass --allow-url {shown})" * bool(shown)
                raise OfflineMissError(
                    f"{art.filename}: not in the bundle, the download cache or a find-links folder on this machine, "
                    f"and --offline is set{allow}"
                )
            cached, came = local, FROM_FIND_LINKS
        else:
            (cached, _sha), came = pinner.fetch_artifact(art), FETCHED
    copied = _copy_checked(cached, dest, art.sha256)
    if copied is None:  # removed from the cache since it was found there (`envsnap clean --cache`)
        if offline:
            raise BundleError(f"{art.filename}: removed from the download cache meanwhile, and --offline is set")
        cached, _sha = pinner.fetch_artifact(art)
        fresh, copied, came = True, _copy_checked(cached, dest, art.sha256), FETCHED
    if not copied:
        if fresh or offline:
            raise BundleError(
                f"{cached}: cached file does not match sha256 {art.sha256} (remove it: it is downloaded again)"
            )
        cached.unlink(missing_ok=True)
        cached, _sha = pinner.fetch_artifact(art)
        came = FETCHED
        if not _copy_checked(cached, dest, art.sha256):
            raise BundleError(f"{cached}: cached file does not match sha256 {art.sha256}")
    _KNOWN[_identity(dest)] = art.sha256
    return came


# Where ``fetch_wheel`` took a wheel from: each a ``BundleEntry.action``, said in the bundle's summary as it is.
FETCHED = "fetched"
FROM_CACHE = "from the download cache"
FROM_FIND_LINKS = "from a find-links folder"


def _taken(action: str, filename: str) -> str:
    """The progress line of a wheel placed in the bundle."""
    return f"fetched {filename}" if action == FETCHED else f"took {filename} {action}"


def _copy_checked(cached: Path, dest: Path, sha256: str) -> bool | None:
    """Copy ``cached`` to ``dest`` when its sha256 is ``sha256`` (hashed as it is written); False, and nothing
    at ``dest``, when it is not; None when ``cached`` is gone (the cache emptied meanwhile)."""
    digest = hashlib.sha256()
    try:
        src = open(cached, "rb")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return None
    # Held while written, as a download is: a run killed midway leaves a file `envsnap clean BUNDLE` and the next
    # bundle remove, and neither removes it under a running copy.
    with src, _leftovers.held_file(dest.parent, dest.name, "download") as (out, tmp):
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != sha256:
            return False
        out.flush()
        os.chmod(tmp, 0o644)  # made private; a bundle is for sharing
        os.replace(tmp, dest)
    return True


def _source_tree(pkg: PythonPackage, work: Path, pinner: Pinner, opts: BundleOptions) -> tuple[Path, str, str]:
    """A source tree to build ``pkg`` from, the provenance to record for the wheel, and the sha256 of the sdist it
    is unpacked from ("" for a checkout or a folder)."""
    from .pin import check_git_url, hash_only

    src = pkg.source
    if pkg.artifact is not None and hash_only(pkg.artifact):
        raise BundleError(
            f"{pkg.name} {pkg.version}: only its sha256 is known ({pkg.artifact.sha256}) and no "
            "file with that hash was found on the configured indexes"
        )
    if pkg.artifact is not None:  # an sdist pinned on the index
        path, _sha = pinner.fetch_artifact(pkg.artifact)
        unpacked = work / "sdist"
        unpacked.mkdir()
        safe_unpack(path, unpacked, hidden=True)
        tops = [p for p in unpacked.iterdir() if p.is_dir()]
        return (tops[0] if len(tops) == 1 else unpacked), pkg.artifact.url, pkg.artifact.sha256
    if src.kind == "vcs":
        if src.vcs != "git":
            raise BundleError(f"{pkg.name}: {src.vcs} checkouts are not supported (only git)")
        check_git_url(pinner.policy, pkg)
        git = _tools.git()
        if git is None:
            raise BundleError(f"{pkg.name}: git is needed to build it from {src.url} and is not installed")
        if not grammar.is_git_commit(src.commit_id):
            raise UnsafeInputError(f"{pkg.name}: commit_id {src.commit_id[:80]!r} is not a git commit hash")
        checkout = work / "checkout"
        # The URL after "--": never read as an option (``--upload-pack=...``); only the usual transports.
        res = _runner.run(
            [
                git,
                "-c",
                "protocol.ext.allow=never",
                "-c",
                "http.followRedirects=false",
                "clone",
                "--quiet",
                "--",
                clone_source(pkg, opts.project_dir),
                str(checkout),
            ],
            timeout=BUILD_TIMEOUT,
        )
        if not res.ok:
            raise BundleError(f"{pkg.name}: git clone {src.url} failed: {_last(res.stderr)}")
        res = _runner.run([git, "-C", str(checkout), "checkout", "--quiet", "--detach", src.commit_id], timeout=120)
        if not res.ok:
            raise BundleError(f"{pkg.name}: commit {src.commit_id} not found in {src.url}: {_last(res.stderr)}")
        tree = join_relative(checkout, src.subdirectory, "subdirectory") if src.subdirectory else checkout
        return tree, f"git+{src.url}@{src.commit_id}", ""
    if src.kind == "directory":
        # Built from a copy: a build in the user's folder writes into it, and reuses what an earlier build left.
        return copy_project(local_source(pkg, opts.project_dir), work / "source"), src.url, ""
    if src.kind == "archive":
        local = local_path(src.url)
        if local is not None and local.is_file() and local.name.endswith(".whl"):
            raise BundleError(f"{pkg.name}: installed from the local wheel {local}; pin it or copy it to an index")
        raise BundleError(f"{pkg.name}: installed from {src.url}, which cannot be fetched and verified")
    raise BundleError(f"{pkg.name} {pkg.version}: not pinned (no matching file on the configured indexes)")


def build_wheel(
    source: Path,
    out_dir: Path,
    python: str | None = None,
    variables: Mapping[str, str] | None = None,
    *,
    offline_links: Sequence[str] | None = None,
) -> Path:
    """Build one wheel from a source tree with ``uv build`` (or ``pip wheel``); its path. ``variables``: set for
    the build besides this process's environment. ``offline_links``: no network (``--offline``), the build's
    requirements only from these find-links folders on this machine, no index. The build's temporary folder is
    ``tmp`` beside ``out_dir`` (made and removed here), not the user's TMPDIR."""
    import sys

    out_dir.mkdir(parents=True, exist_ok=True)
    uv = _tools.uv()
    interpreter = python or sys.executable
    env = {**os.environ, **(variables or {})}
    env.update(without_a_cache_root(env))
    env.setdefault("SOURCE_DATE_EPOCH", "315532800")  # reproducible zip timestamps where the backend honours it
    if uv:
        args = [
            uv,
            "build",
            "--wheel",  # not --quiet: it hides the backend's output, the one place a build says why it failed
            "--python",
            interpreter,
            "--out-dir",
            str(out_dir),
            str(source.absolute()),
        ]
    else:  # absolute: a source path never reads as an option
        args = [
            interpreter,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out_dir),
            str(source.absolute()),
        ]
    if offline_links is not None:
        # Before the source (the last word); "=" joins each folder to its option, so none reads as an option.
        args[-1:-1] = [*(["--offline"] if uv else []), "--no-index", *(f"--find-links={f}" for f in offline_links)]
    # uv's temporary folder, one beside the output (the build's own, removed with it): uv leaves a
    # ``uv-setuptools-*.lock`` in it for each setuptools build, which filled the user's TMPDIR.
    scratch = out_dir.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    env.update({name: str(scratch) for name in ("TMPDIR", "TEMP", "TMP")})
    try:
        res = _runner.run(args, timeout=BUILD_TIMEOUT, env=env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not res.ok:
        offline = " (--offline: the build's requirements come from the find-links folders on this machine only)"
        raise BundleError(
            f"building a wheel from {source} failed: {_last(res.stderr or res.stdout)}"
            f"{offline if offline_links is not None else ''}"
        )
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"building {source} gave {len(wheels)} wheels, expected one")
    return wheels[0]


def _check_built(wheel: Path, pkg: PythonPackage) -> tuple[Path, str]:
    """The built wheel and its version, after checking it is the locked package. A local project imported
    without a version (PEP 751 gives a ``directory`` none) takes the version it builds."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion, Version

    try:
        name, version, _build, _tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename:
        raise BundleError(f"{pkg.name}: the build wrote {wheel.name}, not a valid wheel file name") from None
    try:
        same_version = not pkg.version or version == Version(pkg.version)
    except InvalidVersion:
        same_version = False
    if name != pkg.name or not same_version:
        raise BundleError(
            f"{pkg.name} {pkg.version or '(no version)'}: the source now builds {name} {version} "
            "(the recorded commit or directory changed)"
        )
    return wheel, str(version)


def _remove_stale_wheels(root: Path, lock: Snapshot) -> None:
    wanted = {p.artifact.filename for p in lock.python.packages if p.artifact is not None}
    for path in (root / WHEELS).iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()


# What uv and pip print around a failed build, none of it the cause: their headers, the frame of the backend's
# output, their closing hints ("cause: The build backend returned an error", pip's framed "[2 lines of output]").
_BUILD_CHROME = re.compile(
    r"(hint|note|cause)\b|Building (wheel|source distribution)|\[(stderr|stdout|end of output)\]|"
    r"(error: |x |\u00d7 |ERROR: )?Failed (to build|building)\b|[\u00d7\u2502\u2570|]|"
    r"error: (subprocess-exited-with-error|metadata-generation-failed|failed-wheel-build)|"
    r"Traceback \(most recent call last\)"
)

# A cause uv gives under its ``Failed to build`` line (``cause: ...`` off a terminal, ``|-> ...`` or a drawn arrow
# on one), and those of them that only say the backend failed, whose reason is the backend's output above them.
_UV_CAUSE = re.compile(r"(?:cause:|\|->|[\u251c\u2570]\u2500\u25b6)\s*(.+)")
_UV_BACKEND_FAILED = re.compile(r"The build backend returned an error|Call to `[^`]*` failed\b")


def _last(text: str) -> str:
    """A failed build's cause, in one line: what the build backend said last (a Python exception where it raised
    one), not the installer's frame around it. uv ends with a generic ``hint:`` line, which was all a user saw
    ("Build failures usually indicate a problem ..."), where setuptools-scm had said ``LookupError: ... unable to
    detect version``, and with ``error: Failed to build `DIR``` where the backend had said ``sys.exit``'s reason."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "no output"
    # uv's own causes, other than "the backend failed": uv stopped on its own (the build's requirements could not
    # be resolved, ``--offline`` without ``wheel`` in a find-links folder), and what the backend printed before,
    # ``writing manifest file ...``, was all a user saw.
    own = [m.group(1) for m in map(_UV_CAUSE.match, lines) if m and not _UV_BACKEND_FAILED.match(m.group(1))]
    if own:
        return own[-1]
    said = [line for line in lines if not _BUILD_CHROME.match(line)]
    raised = [line for line in said if re.match(r"[A-Za-z_][\w.]*(Error|Exception)\b:?", line)]
    if raised or said:
        return (raised or said)[-1]
    causes = [
        line
        for line in lines
        if re.match(r"([A-Za-z_][\w.]*(Error|Exception)|error)\b:?", line) and not line.startswith("hint")
    ]
    return causes[-1] if causes else lines[-1]


# How the README's table names a place a lock records by one of envsnap's labels (``file://{project}/dist``): the
# label is no URL a reader can open, and read as one ("file://{project}/dist") it names nothing.
_LABEL_PLACES = {fileurls.PROJECT: "the project", fileurls.PREFIX: "the environment"}


def readme_origin(pkg: PythonPackage) -> tuple[str, str, str]:
    """Where the README's table says ``pkg``'s wheel came from, as (words, a path for a code span, words): the
    index or find-links folder it was fetched from, else its URL; for a wheel the bundle built, "rebuilt from" its
    source. A local place is its path (``~/wheels``, ``/srv/wheels``); one inside the project or the environment
    is its path there (`` `dist` in the project``; the project's own folder: "the project's folder")."""
    art = pkg.artifact
    if art is None:
        return "", "", ""
    before = "rebuilt from " if art.rebuilt else ""
    where = art.url if art.rebuilt else (art.index or art.url)
    if not fileurls.is_file_url(where):
        return before + where, "", ""
    path = fileurls.decoded_path(where).rstrip("/")
    for label, place in _LABEL_PLACES.items():
        if path == label:
            return f"{before}{place}'s folder", "", ""
        if path.startswith(label + "/"):
            return before, path[len(label) + 1 :], f" in {place}"
    return before, path, ""


DIRECT_URL = "direct_url.json"  # PEP 610's, in a distribution's .dist-info


def from_a_bundle_wheel(pkg: PythonPackage) -> bool:
    """A package a capture recorded as installed from a bundle's wheel (a venv rebuilt from a bundle archive whose
    source no place on that machine held): ``rebuilt``, with no URL, an index install otherwise. No index has it
    and there is nothing to build it from: bundle takes the file where it is by its name and sha256 (the bundle's
    wheels folder as find-links, the download cache)."""
    art = pkg.artifact
    return (
        art is not None
        and art.rebuilt
        and not art.url
        and bool(art.filename)
        and pkg.source.kind == "index"
        and not pkg.conda_layer
    )


def bundle_wheel_dist_info(art: Artifact) -> str:
    """The ``.dist-info`` folder's name of the wheel ``art`` names (``NAME-VERSION.dist-info``, as the wheel's file
    name spells them), checked as it was found (``join_base_name``): one path component."""
    parts = art.filename.split("-")
    return f"{parts[0]}-{parts[1]}.dist-info"


def bundle_wheel_marker(dist_info: str, art: Artifact) -> tuple[bytes, str]:
    """``BUNDLE_WHEEL_FILE``'s bytes naming the bundle's wheel ``art`` (its file name and sha256), and its RECORD line
    in the ``.dist-info`` folder ``dist_info``: one spelling for the venv and docker targets, which a capture reads
    as that wheel (``rebuilt``, no URL) where no direct_url.json can name a place (docs/design.md)."""
    from ..probes.interface import BUNDLE_WHEEL_FILE

    data = dist_info_json({"filename": art.filename, "sha256": art.sha256})
    return data, record_line(dist_info, BUNDLE_WHEEL_FILE, data)


def dist_info_json(value: object) -> bytes:
    """A JSON file of a ``.dist-info`` folder (``direct_url.json``, ``BUNDLE_WHEEL_FILE``) as envsnap writes it: keys
    sorted, no spaces, one line ending in a newline (as pip writes ``direct_url.json``)."""
    import json

    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def record_line(dist_info: str, name: str, data: bytes) -> str:
    """RECORD's line for the file ``name`` holding ``data`` in the ``.dist-info`` folder ``dist_info``."""
    import base64

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{dist_info}/{name},sha256={digest},{len(data)}"


def source_direct_url(pkg: PythonPackage, url: str) -> dict[str, object] | None:
    """PEP 610's ``direct_url.json`` of ``pkg``'s source at ``url`` (a regular install: a wheel is never editable),
    as pip installing it from there writes it (``vcs_info`` with the commit, the folder's ``dir_info``, the
    archive's ``archive_info``); None for a source that is none of these. Written in place of the URL of a bundle's
    wheel installed by its file where that file's folder is gone once the rebuild ends (the venv and docker
    targets)."""
    src = pkg.source
    direct: dict[str, object] = {"url": url}
    if src.kind == "vcs":
        vcs: dict[str, str] = {"vcs": src.vcs, "commit_id": src.commit_id}
        if src.requested_revision:
            vcs["requested_revision"] = src.requested_revision
        direct["vcs_info"] = vcs
    elif src.kind == "directory":
        direct["dir_info"] = {}
    elif src.kind == "archive":
        algorithm, hexdigest = src.archive_digest
        direct["archive_info"] = {"hash": src.archive_hash, "hashes": {algorithm: hexdigest}} if hexdigest else {}
    else:
        return None
    if src.subdirectory:
        direct["subdirectory"] = src.subdirectory
    return direct


def _refuse_lost_bundle_wheels(lock: Snapshot, root: Path, pinner: Pinner) -> None:
    """``UsageError`` (exit 2, before anything is fetched) naming each package installed from a bundle's wheel
    (``from_a_bundle_wheel``) that neither this bundle, the download cache nor a configured find-links folder or
    index holds: no index has such a wheel, and pinning it by name failed with a line about uv's --find-links."""
    lost = [
        f"{package_label(pkg)}: installed from {art.filename} (sha256 {art.sha256}), a wheel an envsnap bundle built"
        for pkg in lock.pip_layer()
        if from_a_bundle_wheel(pkg) and (art := pkg.artifact) is not None
        if not _in_bundle(root, art) and not pinner.holds(art)
    ]
    if lost:
        more = "" if len(lost) == 1 else f"{len(lost)} problems: "
        raise LostBundleWheelError(
            f"nothing was fetched: {more}" + "; ".join(lost) + " (no index has it, and neither the download cache nor "
            "a configured find-links folder holds it: give the wheels folder of the bundle it was rebuilt from as "
            "find-links, PIP_FIND_LINKS=DIR/wheels or UV_FIND_LINKS=DIR/wheels, DIR the unpacked bundle)"
        )


def installs_by_file(pkg: PythonPackage) -> bool:
    """A wheel the bundle built from the lock's source (a git commit, a local folder, an sdist by URL; not an
    index's sdist, whose source is the index either way): installed by its file, never by name from the wheels
    folder, so that pip and uv write a PEP 610 direct_url.json naming it and its sha256, and a capture of the
    environment tells it from a wheel of that version from an index, which leaves none (docs/design.md)."""
    return pkg.artifact is not None and pkg.artifact.rebuilt and pkg.source.kind != "index"


def installs_its_source_file(pkg: PythonPackage) -> bool:
    """A wheel the lock records as installed from its own file (``pip install ./dist/x.whl``, or its URL), which the
    bundle pins as that very file: the source's file name, its sha256 where the installer recorded one, its files
    proven by the RECORD digest (``pin``). Installed by name from the wheels folder, it has no direct_url.json, so a
    rebuild writes the locked source there, as installing that file writes it (docs/design.md)."""
    from urllib.parse import unquote, urlsplit

    art, src = pkg.artifact, pkg.source
    if art is None or art.rebuilt or src.kind != "archive" or pkg.conda_layer or not art.filename.endswith(".whl"):
        return False
    algo, hexdigest = src.archive_digest
    if hexdigest and (algo != "sha256" or hexdigest != art.sha256):
        return False
    return unquote(urlsplit(src.url).path.rsplit("/", 1)[-1]) == art.filename


def requirements_text(lock: Snapshot, wheels_url: str = "") -> str:
    """``name==version --hash=sha256:...`` for every bundled wheel, sorted: pip's --require-hashes input. A wheel
    the bundle built (``installs_by_file``) is named by its file: ``./wheels/F.whl --hash=...``, which pip resolves
    against the folder it runs in (the bundle's, as its README says) and records with its sha256; or, given
    ``wheels_url`` (an image's folder of the wheels, a constant), ``name @ URL/F.whl#sha256=... --hash=...``, which uv
    records with the sha256 too (it records none for a path)."""
    lines = [
        "# Generated by envsnap from envsnap.lock. Install with:",
        f"#   pip install --no-deps --no-index --find-links {WHEELS} --require-hashes -r requirements.txt",
    ]
    if not wheels_url and any(installs_by_file(p) for p in lock.pip_layer()):
        lines.append(f"# run in this folder: a ./{WHEELS}/ line is a wheel the bundle built, installed by its file")
    for pkg in sorted(lock.pip_layer(), key=lambda p: p.name):
        art = pkg.artifact
        if art is not None and art.filename.endswith(".whl"):
            with sinks.refusing(BundleError, REQUIREMENTS):  # a newline in a version must add no line
                if installs_by_file(pkg) and wheels_url:
                    lines.append(sinks.requirement_wheel_url(pkg.name, wheels_url, art.filename, art.sha256))
                elif installs_by_file(pkg):
                    lines.append(sinks.requirement_wheel_path(WHEELS, art.filename, art.sha256))
                else:
                    lines.append(sinks.requirement_pin(pkg.name, pkg.version, art.sha256))
    return "\n".join(lines) + "\n"


def describe_entries(entries: Iterable[BundleEntry]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    return counts


__all__ = [
    "Bundle",
    "BundleOptions",
    "BundleResult",
    "bundle_wheel_dist_info",
    "bundle_wheel_marker",
    "check_conda_made_from",
    "check_made_from",
    "extract",
    "installs_by_file",
    "installs_its_source_file",
    "make_bundle",
    "open_bundle",
    "record_line",
    "requirements_text",
    "source_direct_url",
]
