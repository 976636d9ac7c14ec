"""The tags of the wheel a lock installs for a package, and the one rule for a wheel built for one machine alone.

``check`` names such wheels in its machine failure (``compat``'s platform and wheels rules) and ``verify`` folds their
differences into the machine's one mismatch (``compare.verify``): written once here, below both, as they had drifted
apart (verify read the WHEEL tags alone, check the pinned wheel's file name too where a lock records none)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence

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


# The platform packaging is asked to list tags for where they stand for each of a target's platforms: a tag is split
# at "-", so no wheel's platform is "-".
EVERY_PLATFORM = "-"


class TagOrder:
    """The wheel tags a target installs, best first, as packaging lists them (``cpython_tags``, ``compatible_tags``),
    kept as its interpreter-and-ABI pairs in order and its platforms in order rather than their product: packaging
    lists each pair once per platform, and a lock's Python 3.999 with glibc 2.999 (each within its grammar) was two
    million tags to build for every check and pin."""

    def __init__(self, tags: Iterable[ptags.Tag | str] | TagOrder, platforms: Sequence[str] = ()) -> None:
        """``tags``: packaging's list for the one platform ``EVERY_PLATFORM`` (a pair that stands for itself on each
        of ``platforms``, in their order) and tags of no platform (``py3-none-any``); or a plain list (``sys_tags``)
        of tags or their text with no ``EVERY_PLATFORM`` tag and no ``platforms``; or another order, copied."""
        self._platforms = {p: i for i, p in enumerate(dict.fromkeys(platforms))}
        width = len(self._platforms) + 1  # a pair's tags on every platform rank before the next tag listed
        self._pairs: dict[tuple[str, str], int] = {}
        self._plain: dict[str, int] = {}
        if isinstance(tags, TagOrder):
            self._platforms, self._pairs, self._plain = tags._platforms, tags._pairs, tags._plain
            return
        for i, tag in enumerate(tags):
            if isinstance(tag, str):
                self._plain.setdefault(tag, i * width)
            elif tag.platform == EVERY_PLATFORM:
                # kept with no platforms too: the interpreter and ABI are known where the platforms are not
                self._pairs.setdefault((tag.interpreter, tag.abi), i * width)
            else:
                self._plain.setdefault(str(tag), i * width)

    def rank(self, tag: str) -> int | None:
        """Where ``tag`` (``cp311-cp311-manylinux_2_17_x86_64``) stands, lower first; None for a tag not installed."""
        found = self._plain.get(tag)
        interpreter, _, rest = tag.partition("-")
        abi, _, platform = rest.partition("-")
        at = self._pairs.get((interpreter, abi))
        where = self._platforms.get(platform)
        if at is not None and where is not None and (found is None or at + where < found):
            found = at + where
        return found

    def pairs(self) -> frozenset[tuple[str, str]]:
        """The interpreter-and-ABI pairs of the tags (``("cp311", "abi3")``)."""
        plain = (tag.split("-")[:2] for tag in self._plain)
        return frozenset(self._pairs) | {(interpreter, abi) for interpreter, abi in plain}

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, str) and self.rank(tag) is not None

    def __iter__(self) -> Iterator[str]:
        """Every tag, best first (the whole product: for a small target, or a test)."""
        ranked = [
            (at + where, f"{interpreter}-{abi}-{platform}")
            for (interpreter, abi), at in self._pairs.items()
            for platform, where in self._platforms.items()
        ]
        ranked += [(at, tag) for tag, at in self._plain.items()]
        return iter([tag for _at, tag in sorted(ranked)])

    def __getitem__(self, index: int) -> str:
        """``[0]``, the best tag (named in a message), is found without listing the rest."""
        if index != 0:
            return list(self)[index]
        first = next(iter(self._platforms), None)
        best = [] if first is None else [(at, f"{i}-{abi}-{first}") for (i, abi), at in self._pairs.items()]
        best += [(at, tag) for tag, at in self._plain.items()]
        if not best:
            raise IndexError(index)
        return min(best)[1]

    def __bool__(self) -> bool:
        return bool(self._plain or (self._pairs and self._platforms))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagOrder) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def tag_order(
    version: tuple[int, int],
    interpreter: str,
    platforms: Sequence[str],
    *,
    abi: str | None = None,
    cpython: bool = True,
) -> TagOrder:
    """The tags ``interpreter`` (``cp311``; CPython ``version``, or another implementation where not ``cpython``,
    with ``abi``, else packaging's ABIs of that version) installs on ``platforms``, best first. No platforms: only the
    tags of no platform (``py3-none-any``), never packaging's reading of none, the running host's (a Mac's facts
    judged on a Linux host were given this host's manylinux tags); a caller that means this host passes
    ``packaging.tags.platform_tags()``."""
    every = [EVERY_PLATFORM]
    abis = [abi] if abi is not None else None
    if cpython:
        found = list(ptags.cpython_tags(version, abis, every))
    else:
        found = list(ptags.generic_tags(interpreter, abis, every))
    found += ptags.compatible_tags(version, interpreter, every)
    return TagOrder(found, platforms)
