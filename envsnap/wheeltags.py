"""The tags of the wheel a lock installs for a package, and the one rule for a wheel built for one machine alone.

``check`` names such wheels in its machine failure (``compat``'s platform and wheels rules) and ``verify`` folds their
differences into the machine's one mismatch (``compare.verify``): written once here, below both, as they had drifted
apart (verify read the WHEEL tags alone, check the pinned wheel's file name too where a lock records none)."""

from __future__ import annotations

import contextlib
import functools

from packaging import tags as ptags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .model import PythonPackage
from .platforms import machine, platform_arch

# A wheel tag's expansion (``cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`` is two tags), kept by its
# text: the rules ask for every package's tags three times a check, and a lock's wheels share a few dozen tags.
_parse_tag = functools.lru_cache(maxsize=4096)(ptags.parse_tag)


def package_tags(pkg: PythonPackage) -> frozenset[ptags.Tag]:
    """The tags of the wheel the lock installs for this package: its WHEEL tags, else those of the wheel it pins by
    file name (an import, pinned, records no WHEEL); empty: not a wheel, or built locally."""
    found: set[ptags.Tag] = set()
    for text in pkg.wheel_tags:
        try:
            found |= _parse_tag(text)
        except ValueError:
            continue
    if not found and pkg.artifact is not None and pkg.artifact.filename.endswith(".whl"):
        with contextlib.suppress(InvalidWheelFilename):
            found |= parse_wheel_filename(pkg.artifact.filename)[3]
    return frozenset(found)


def built_for_machine_alone(pkg: PythonPackage, arch: str) -> bool:
    """Whether the wheel the lock installs for ``pkg`` runs on the machine ``arch`` alone (any spelling ``machine``
    reads): it has tags (``package_tags``), and each is a Linux platform tag of ``arch`` (each of a compressed set's,
    ``manylinux_2_17_aarch64.manylinux2014_aarch64``). A pure-Python or another system's wheel is not."""
    tags = package_tags(pkg)
    return bool(tags) and all(platform_arch(tag.platform) == machine(arch) for tag in tags)
