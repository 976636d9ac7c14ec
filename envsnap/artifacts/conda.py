"""Conda package archives: the file a lock names, fetched, checked against the lock's md5 and sha256, cached.

Used by ``envsnap bundle`` (``BUNDLE/conda/``) and by the conda rebuild target (its download cache). Nothing is
installed here; a wrong or missing archive is an error naming the package.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import _leftovers
from .._defaults import make_folder
from .._fetchpolicy import FetchPolicy, allowances, local_path
from .._fs import join_base_name, join_hash_dir
from .._prehash import open_regular
from ..errors import BundleError, PinError, RebuildError, UnsafeInputError, UsageError
from ..grammar import GrammarError, conda_dependency, require_base_name
from ..model import CondaPackage, Snapshot
from ..progress import Progress
from ..report import counted
from .pin import DownloadError, Fetcher, here

DOWNLOAD_TIMEOUT = 120.0
CONDA_DIR = "conda"  # inside a bundle


def archive_name(pkg: CondaPackage) -> str:
    """The archive's file name, as its URL ends (``name-version-build.conda`` / ``.tar.bz2``)."""
    if not pkg.url:
        raise RebuildError(f"{label(pkg)}: the lock has no URL for it (the conda-meta record had none)")
    name = pkg.url.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith((".conda", ".tar.bz2")):
        raise RebuildError(f"{label(pkg)}: {pkg.url} does not name a conda package archive")
    try:  # it names files in the bundle and the cache: a plain archive name or nothing
        return require_base_name(name, "conda archive name")
    except GrammarError as exc:
        raise UnsafeInputError(f"{label(pkg)}: {exc}") from None


def label(pkg: CondaPackage) -> str:
    return f"{pkg.name} {pkg.version} ({pkg.build})" if pkg.build else f"{pkg.name} {pkg.version}"


def unusable(pkg: CondaPackage) -> str:
    """Why the lock's record of ``pkg`` cannot be bundled or rebuilt, whatever this machine holds (the lock is bad
    input, said before any work); ``""`` when it can be."""
    if not pkg.url:
        return (
            f"{label(pkg)}: the lock has no URL for it (the conda-meta record had none), so its archive cannot be "
            f"fetched (conda install --force-reinstall {pkg.name} writes a record that names it: capture again "
            "after it)"
        )
    if not (pkg.md5 or pkg.sha256):  # a file that has them is at hand
        return (
            f"{label(pkg)}: the lock has neither md5 nor sha256 for it, so its archive cannot be checked "
            "(conda list --explicit --md5, or conda-lock, write them)"
        )
    return ""


class UnusableCondaLockError(BundleError, UsageError):
    """A conda package the lock records so that no archive can be bundled for it (``unusable``): bad input."""

    exit_code = 2


def refuse_unusable(packages: Iterable[CondaPackage]) -> None:
    """``UnusableCondaLockError`` for the first package ``unusable`` names: ``envsnap bundle`` asks it before the
    bundle is made or touched (it fetched the other archives into it, then failed: exit 4)."""
    for pkg in packages:
        if problem := unusable(pkg):
            raise UnusableCondaLockError(problem)


def check_archive(pkg: CondaPackage, path: Path, name: str = "") -> None:
    """Compare an archive with the lock's md5 and sha256. A difference is an error naming the package and the
    archive (``name``: the file's real name when ``path`` is a partial download)."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    try:
        # A regular file only, opened non-blocking: a pipe put there would wait for ever, /dev/zero never end.
        with open_regular(path) as handle:
            while chunk := handle.read(1 << 20):
                md5.update(chunk)
                sha.update(chunk)
    except OSError as exc:
        raise RebuildError(f"{label(pkg)}: {name or path.name}: cannot read it ({exc.strerror or exc})") from None
    for algo, want, have in (("sha256", pkg.sha256, sha.hexdigest()), ("md5", pkg.md5, md5.hexdigest())):
        if want and want != have:
            raise RebuildError(
                f"{label(pkg)}: {algo} mismatch for {name or path.name}: the lock says {want}, "
                f"the archive has {have} (not the locked package; nothing was installed)"
            )


def source_url(pkg: CondaPackage, project_dir: Path | None = None) -> str:
    """Where ``pkg``'s archive is read on this machine: its URL, an archive the lock records inside the project or
    the home (``file://{project}/channel/...``, ``file://~/...``, as capture records a local channel) under this
    checkout of the project and this home, the rule of pip's files (``pin.here``). ``RebuildError`` when the
    lock names the project and there is none."""
    try:
        return here(pkg.url, project_dir)
    except PinError as exc:
        raise RebuildError(f"{label(pkg)}: {pkg.url}: {exc}") from None


def check_url(pkg: CondaPackage, allow_urls: Sequence[str] = (), project_dir: Path | None = None) -> FetchPolicy:
    """The fetch policy for conda archives, once it has allowed ``pkg``'s URL (as ``source_url`` reads it);
    ``FetchRefusedError`` (one line) when it refuses it. Nothing is read."""
    policy = FetchPolicy(allowances(allow_urls))
    policy.check(source_url(pkg, project_dir), f"{label(pkg)}: conda package")
    return policy


def refuse_unfetchable(
    packages: Iterable[CondaPackage],
    dest_dir: Path,
    allow_urls: Sequence[str] = (),
    project_dir: Path | None = None,
    *,
    by_hash: bool = False,
) -> None:
    """``FetchRefusedError`` for the first package whose archive is not in ``dest_dir`` (a bundle's ``conda/``, or
    with ``by_hash`` a download cache, laid out as ``fetch_all`` lays it out) and whose URL the fetch policy
    refuses: asked before anything else is fetched, as ``fetch_all`` would ask it at that package's turn. A URL
    that names no archive, or the project where there is none, is left for that turn to report."""
    for pkg in packages:
        try:
            folder = join_hash_dir(dest_dir, pkg.sha256 or pkg.md5) if by_hash else dest_dir
            present = join_base_name(folder, archive_name(pkg)).is_file()
            url = source_url(pkg, project_dir)
        except (RebuildError, UnsafeInputError):
            continue
        if not present:
            FetchPolicy(allowances(allow_urls)).check(url, f"{label(pkg)}: conda package")


def fetch_archive(
    pkg: CondaPackage,
    target: Path,
    *,
    offline: bool = False,
    repair: bool = True,
    allow_urls: Sequence[str] = (),
    project_dir: Path | None = None,
) -> Path:
    """The locked archive of ``pkg`` at ``target``, hash-checked; fetched unless already there.

    A copy already at ``target`` that fails the check is fetched again when ``repair`` (a download cache,
    a bundle being made) and is an error otherwise (a bundle being installed from). ``offline`` forbids
    downloading; ``file://`` URLs are still copied. The lock's URL is read only as the fetch policy allows
    (https to a public host, or an ``allow_urls`` pattern): a channel on ``file://``, plain http or a private
    address needs ``--allow-url``. An archive recorded inside the project (``file://{project}/...``) is read from
    ``project_dir``, one under the home from this home (``source_url``), and the policy is asked about that path.
    """
    if not (pkg.md5 or pkg.sha256):
        raise RebuildError(
            f"{label(pkg)}: the lock has neither md5 nor sha256 for it; refusing to install "
            "an archive that cannot be checked"
        )
    if target.is_file():
        try:
            check_archive(pkg, target)
            return target
        except RebuildError:
            if not repair:
                raise
            target.unlink()
    url = source_url(pkg, project_dir)
    policy = check_url(pkg, allow_urls, project_dir)
    local = local_path(url)
    if local is None and offline:
        raise RebuildError(
            f"{label(pkg)}: {target.name} is not in the bundle and offline mode forbids downloading {pkg.url}"
        )
    if local is not None and not local.is_file():
        where = f" {local}" if url != pkg.url else ""  # the path looked at, where the lock names it by a label
        if local.exists():  # what the lock names is there, and no archive: refused unread (the fetch reads none)
            shown = f" ({local})" if where else ""
            raise UnsafeInputError(
                f"{label(pkg)}: {pkg.url}{shown} is not a regular file (a pipe, a device or a folder is no conda "
                "archive: not read)"
            )
        raise RebuildError(f"{label(pkg)}: {pkg.url} is gone (no such file{where})")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Downloaded and checked (read whole) in a held folder beside its place: what a run killed meanwhile left there
    # `envsnap clean` removes, and the next download into that folder.
    with _leftovers.held_dir(target.parent, "download") as tmp:
        part = tmp / target.name
        try:
            Fetcher(timeout=DOWNLOAD_TIMEOUT, policy=policy).download(url, part, checked=True)
        except DownloadError as exc:
            if exc.status:
                gone = " is gone" if exc.status in (404, 410) else " cannot be downloaded"
                raise RebuildError(
                    f"{label(pkg)}: {pkg.url}{gone} (HTTP {exc.status}); the channel no longer serves "
                    "this exact build: rebuild from a bundle made while it did (envsnap bundle)"
                ) from None
            raise RebuildError(f"{label(pkg)}: {exc}") from None
        check_archive(pkg, part, target.name)
        os.replace(part, target)
    return target


def fetch_all(
    packages: Iterable[CondaPackage],
    dest_dir: Path,
    *,
    by_hash: bool = False,
    offline: bool = False,
    repair: bool = True,
    progress: Progress | None = None,
    allow_urls: Sequence[str] = (),
    project_dir: Path | None = None,
) -> dict[str, Path]:
    """Every package's checked archive in ``dest_dir`` by package name: ``dest_dir/<file>`` (a bundle), or
    ``dest_dir/<sha256 or md5>/<file>`` (a cache, where two channels may serve different files of one name).
    ``project_dir``: what ``{project}`` in an archive's URL means (``fetch_archive``)."""
    say = progress or (lambda _line: None)
    pkgs = list(packages)
    if by_hash and pkgs:
        try:
            make_folder(dest_dir)  # a cache: never a missing home folder (HOME=/nonexistent) made to hold it
        except OSError as exc:
            raise RebuildError(f"cannot make the download cache {str(dest_dir)!r}: {exc.strerror or exc}") from None
    say(f"fetching and checking {counted(len(pkgs), 'conda package')}")
    out = {}
    for pkg in pkgs:
        name = archive_name(pkg)
        # Absolute: the installers are given file:// URLs, and --bundle may be a relative path.
        folder = join_hash_dir(dest_dir, pkg.sha256 or pkg.md5) if by_hash else dest_dir
        target = join_base_name(folder, name).absolute()
        out[pkg.name] = fetch_archive(
            pkg, target, offline=offline, repair=repair, allow_urls=allow_urls, project_dir=project_dir
        )
    return out


def bundle_conda_packages(
    lock: Snapshot,
    bundle_root: Path,
    *,
    offline: bool = False,
    progress: Progress | None = None,
    allow_urls: Sequence[str] = (),
    project_dir: Path | None = None,
) -> list[Path]:
    """Put every locked conda package into ``BUNDLE/conda/`` (hash-checked) and drop archives the lock no
    longer names. Called by ``envsnap bundle``; errors are ``BundleError``."""
    conda_dir = bundle_root / CONDA_DIR
    conda_dir.mkdir(parents=True, exist_ok=True)
    packages = lock.conda.packages if lock.conda else ()
    try:
        fetched = fetch_all(
            packages, conda_dir, offline=offline, progress=progress, allow_urls=allow_urls, project_dir=project_dir
        )
    except RebuildError as exc:
        raise BundleError(str(exc)) from None
    keep = {p.name for p in fetched.values()}
    for path in conda_dir.iterdir():
        if path.is_file() and path.name not in keep:
            path.unlink()
    return sorted(fetched.values())


def dep_name(spec: str) -> str:
    """The package name a conda MatchSpec (``"python >=3.11,<3.12.0a0"``) depends on; ``""`` for no MatchSpec."""
    parts = conda_dependency(spec)
    return parts[0] if parts is not None else ""


def install_order(packages: tuple[CondaPackage, ...]) -> list[CondaPackage]:
    """Dependencies before their dependents (ties in the lock's order: by name in a capture, the file's in an
    import of an explicit file, which records no depends), as ``conda list --explicit`` lists them: conda links an
    explicit file in the order given, and post-link scripts may need what they depend on."""
    by_name = {p.name: p for p in packages}
    done: set[str] = set()
    order: list[CondaPackage] = []

    def visit(pkg: CondaPackage, path: tuple[str, ...]) -> None:
        if pkg.name in done or pkg.name in path:  # a cycle (they exist, e.g. python <-> pip) is cut here
            return
        for dep in sorted({dep_name(d) for d in pkg.depends}):
            if dep in by_name:
                visit(by_name[dep], (*path, pkg.name))
        done.add(pkg.name)
        order.append(pkg)

    for pkg in packages:
        visit(pkg, ())
    return order
