"""Whether a wheel's or an sdist's file name names a locked distribution and version, as an installer reads them
(names normalised, versions as versions): the one reading that pinning (choosing a package's files on an index)
and a bundle's check of each wheel share. Kept apart from ``pin`` so that reading a bundle does not import the
index client (``html.parser``, ``configparser``, the fetch policy and ``socket``)."""

from __future__ import annotations

import functools

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..model import PythonPackage


def same_release(filename: str, pkg: PythonPackage) -> bool:
    """Whether ``filename`` (a wheel's or an sdist's) names ``pkg``'s distribution and version, compared as an
    installer reads them (names normalised, versions as versions)."""
    return _same_release(filename, pkg.name, pkg.version)


def sdist_matches(filename: str, pkg: PythonPackage) -> bool:
    """Whether ``filename`` is an sdist of ``pkg``'s distribution and version."""
    return _sdist_release(filename, pkg.name, pkg.version)


@functools.lru_cache(maxsize=4096)
def _same_release(filename: str, project: str, release: str) -> bool:
    # Once per file, name and version in a process: a rebuild asks it of every bundled wheel twice (the hashing
    # ahead, then the check), and parsing the file name and both versions is most of a wheel's check.
    if filename.endswith(".whl"):
        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
            return name == canonicalize_name(project) and version == Version(release)
        except (InvalidWheelFilename, InvalidVersion):
            return False
    return _sdist_release(filename, project, release)


def _sdist_release(filename: str, project: str, release: str) -> bool:
    try:
        name, version = parse_sdist_filename(filename)
        return name == canonicalize_name(project) and version == Version(release)
    except (InvalidSdistFilename, InvalidVersion):
        return False
