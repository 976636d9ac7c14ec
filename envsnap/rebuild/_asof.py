"""``rebuild --target docker --as-of auto|DATE``, the Python side: a wheel the bundle lacks comes from the
configured indexes as they were at DATE. Only files the index says were uploaded before that moment count (the
rule of uv's ``--exclude-newer``; PEP 700 upload times, a file without one is not used), and the file is checked
against the lock: its sha256 when the lock pins one, else the installed package's RECORD digest (as ``pin``
proves a file)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from .._defaults import ARTIFACTS_CACHE
from .._defaults import cache_dir as default_cache
from ..artifacts.pin import Pinner, read_pip_config, target_tags
from ..dockerfile import apt
from ..dockerfile.spec import as_of_date
from ..errors import PinError, RebuildError
from ..model import Artifact, PythonPackage, Snapshot
from .interface import Progress


def cutoff(lock: Snapshot, as_of: str) -> _dt.datetime:
    """The moment ``--as-of auto|DATE`` names: the same one the apt snapshot is taken at."""
    stamp = apt.snapshot_stamp(as_of_date(lock, as_of))
    return _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)


def shown(moment: _dt.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def fetch_missing(
    lock: Snapshot,
    missing: Sequence[PythonPackage],
    moment: _dt.datetime,
    *,
    allow_urls: tuple[str, ...] = (),
    cache_dir: Path | None = None,
    progress: Progress,
) -> tuple[Snapshot, dict[str, Path]]:
    """The lock with an artifact for each of ``missing`` and the checked wheel of each (in the cache), by name.
    ``RebuildError`` naming the package when no file uploaded before ``moment`` is the locked one."""
    pinner = Pinner(
        read_pip_config(),
        cache_dir or default_cache(ARTIFACTS_CACHE),
        tags=target_tags(lock.python.version, lock.python.implementation),
        allow_urls=allow_urls,
        exclude_newer=moment,
    )
    progress(f"fetching {len(missing)} wheels the bundle lacks from the indexes as of {shown(moment)}")
    found: dict[str, Path] = {}
    pinned: dict[str, PythonPackage] = {}
    for pkg in missing:
        try:
            path, art = _one(pinner, pkg, moment)
        except PinError as exc:
            raise RebuildError(f"cannot rebuild: {pkg.name} {pkg.version} is not in the bundle: {exc}") from exc
        when = f"uploaded {art.upload_time}, " if art.upload_time else ""
        progress(f"  {art.filename} ({when}sha256 {art.sha256})")
        found[pkg.name] = path
        pinned[pkg.name] = dataclasses.replace(pkg, artifact=art)
    packages = tuple(pinned.get(p.name, p) for p in lock.python.packages)
    return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages)), found


def _one(pinner: Pinner, pkg: PythonPackage, moment: _dt.datetime) -> tuple[Path, Artifact]:
    art = pkg.artifact
    if art is None:  # unpinned: the file is proven by the installed package's RECORD digest
        outcome = pinner.pin_one(pkg)
        if outcome.artifact is None:
            raise PinError(outcome.reason)
        if not outcome.artifact.filename.endswith(".whl"):
            raise PinError(f"only its source distribution {outcome.artifact.filename} is on the index (no wheel)")
        return pinner.fetch_artifact(outcome.artifact)[0], outcome.artifact
    listed = [f for f in pinner.candidates(pkg) if f.filename == art.filename and f.sha256 in ("", art.sha256)]
    if not listed:
        raise PinError(f"no configured index lists {art.filename} as uploaded before {shown(moment)}")
    path, sha = pinner.fetch(listed[0])
    if sha != art.sha256:
        raise PinError(f"{art.filename} on {listed[0].index}: sha256 {sha}, the lock says {art.sha256}")
    return path, dataclasses.replace(art, upload_time=listed[0].upload_time or art.upload_time)
