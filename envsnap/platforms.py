"""Spellings of a machine and of a release that envsnap compares: one architecture alias table and one
``major.minor`` reading, shared by compat, the Dockerfile spec, the rebuilders and the exports.

``uname -m`` (as a lock records ``platform.machine``), Docker (``amd64``, ``arm64``), Windows (``AMD64``) and
wheel tags name the same machine differently; ``machine`` maps every spelling to the one a lock and a wheel
tag use, and ``debian_arch`` to Debian's.
"""

from __future__ import annotations

import re

from ._lazyre import LazyPattern

MACHINE_ALIASES = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "arm64": "aarch64",
    "armv8": "aarch64",
    "i386": "i686",  # wheel platform tags spell 32-bit x86 "i686"
}

# uname -m -> Debian's architecture name (apt pins, multiarch package names).
DEBIAN_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "i686": "i386",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
}


def machine(name: str) -> str:
    """One spelling per architecture (``arm64``, ``AMD64``: the lock's ``aarch64``, ``x86_64``)."""
    lowered = name.strip().lower()
    return MACHINE_ALIASES.get(lowered, lowered)


# The Linux platform tags of wheels (PEP 600 ``manylinux_X_Y_ARCH``, PEP 656 ``musllinux_X_Y_ARCH``, the legacy
# ``manylinux2014_ARCH``, ``linux_ARCH``): what the compatibility rules and verify read a wheel's machine from.
MANYLINUX = LazyPattern(r"^manylinux_(\d+)_(\d+)_(.+)$")
LEGACY_MANYLINUX_TAG = LazyPattern(r"^(manylinux1|manylinux2010|manylinux2014)_(.+)$")
MUSLLINUX = LazyPattern(r"^musllinux_(\d+)_(\d+)_(.+)$")


def platform_arch(platform: str) -> str:
    """The machine (``machine``'s spelling) of a wheel's Linux platform tag; "" for any other platform tag."""
    for pattern in (MANYLINUX, MUSLLINUX):
        m = pattern.match(platform)
        if m:
            return machine(m.group(3))
    legacy = LEGACY_MANYLINUX_TAG.match(platform)
    if legacy:
        return machine(legacy.group(2))
    if platform.startswith("linux_"):
        return machine(platform[len("linux_") :])
    return ""


def debian_arch(name: str) -> str:
    """Debian's name of the machine ``name`` (any spelling ``machine`` reads)."""
    canonical = machine(name)
    return DEBIAN_ARCH.get(canonical, canonical)


# uname -m -> the architecture of Docker's platform (``FROM --platform=linux/ARCH``), where it differs from Debian's.
DOCKER_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm/v7"}


def docker_platform(name: str) -> str:
    """Docker's platform of a Linux machine ``name`` (``linux/arm64``), "" for none."""
    canonical = machine(name)
    return f"linux/{DOCKER_ARCH.get(canonical, canonical)}" if canonical else ""


def conda_subdir(system: str, machine_name: str) -> str:
    """conda's platform (its "subdir") of an OS and machine as ``platform.system()`` and ``platform.machine()``
    name them: ``linux-64``, ``linux-aarch64``, ``osx-arm64``, ``win-64``."""
    system = system.lower()
    canonical = machine(machine_name)
    os_name = {"linux": "linux", "darwin": "osx", "windows": "win"}.get(system, system)
    arch = {"x86_64": "64", "i686": "32"}.get(canonical, canonical)
    if canonical == "aarch64" and os_name != "linux":
        arch = "arm64"  # conda's name for ARM outside Linux: osx-arm64, win-arm64
    return f"{os_name}-{arch}"


def with_article(word: str) -> str:
    """``word`` after its indefinite article, as it is said: "an aarch64", "an x86_64", "a Darwin"."""
    return f"an {word}" if word[:1].lower() in ("a", "e", "i", "o", "x") else f"a {word}"


# The largest major or minor number a lock's macOS version is read with (no release is over 99.99): packaging's
# mac_platforms lists every release from the one given down to 10.0, so a stranger's 999999999.0 is a billion of them.
MACOS_PART_MAX = 99


def is_macos_release(*parts: int) -> bool:
    """Whether a macOS version's major and minor numbers (read from a lock) can name a release: else the version is
    taken as not recorded (pin's platform tags, compat's)."""
    return all(0 <= part <= MACOS_PART_MAX for part in parts)


# An interpreter's platform (``sysconfig.get_platform()``, ``macosx-11.0-arm64``) or a wheel tag's: ASCII digits, a
# few (``\d`` takes any script's, which int() reads; 5,000 digits were int()'s ValueError): a version over
# MACOS_PART_MAX is no release, and is taken as not recorded.
_MACOS_PLATFORM = LazyPattern(r"^macosx[-_]([0-9]{1,9})[._]([0-9]{1,9})[-_](.+)$")


def macos_release(os_version: str, kernel: str, platform_tag: str = "") -> tuple[tuple[int, int] | None, str]:
    """The macOS release a Mac runs, as pip reads it (``platform.mac_ver``), from a lock's facts: its OS version
    (``platform.os_version``, as an import records it), else its Darwin kernel's release (Darwin 23 is macOS 14,
    Darwin 19 macOS 10.15), else the release its interpreter was built for (``python.platform_tag``,
    ``macosx-11.0-arm64``: the Mac runs that one or a later one); and the interpreter platform's machine ("" where
    it names none). None where none says. compat's wheel tags and pin's read it so, one rule."""
    m = _MACOS_PLATFORM.match(platform_tag)
    tag_arch = m.group(3) if m else ""
    version = numbers(os_version)
    if version and is_macos_release(*version[:2]):
        return (version[0], version[1] if len(version) > 1 else 0), tag_arch
    darwin = numbers(kernel)[:1]
    if darwin and 5 <= darwin[0] < 20:
        return (10, darwin[0] - 4), tag_arch
    if darwin and darwin[0] >= 20 and is_macos_release(darwin[0] - 9):
        return (darwin[0] - 9, 0), tag_arch  # from macOS 11 on, a wheel names the major release alone
    if m and is_macos_release(int(m.group(1)), int(m.group(2))):
        return (int(m.group(1)), int(m.group(2))), tag_arch
    return None, tag_arch


def target_machine(system: str, recorded: str, platform_tag: str = "") -> str:
    """The machine whose wheels a lock's platform installs: its recorded ``platform.machine`` (``machine``'s
    spelling; a Mac's ``arm64``, as its wheels name it), else on a Mac the machine its interpreter's ``platform_tag``
    names (``macosx-14.0-arm64``; ``universal2`` for a python.org build). "" where none says. compat's wheel tags and
    pin's read it so, one rule."""
    arch = machine(recorded)
    if system == "Darwin":
        return {"aarch64": "arm64"}.get(arch, arch) or macos_release("", "", platform_tag)[1]
    return arch


def numbers(version: str) -> tuple[int, ...]:
    """``"535.54.03"`` -> (535, 54, 3); stops at the first part that is not a number."""
    out = []
    for part in version.strip().split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group(0)))
        if m.group(0) != part:
            break
    return tuple(out)


def major_minor(version: str) -> str:
    """``"3.11.7"`` -> ``"3.11"`` (``"3.13.0rc1"``, ``"3.11rc1"`` -> ``"3.13"``, ``"3.11"``); ``""`` when it has no
    leading number. The release line a wheel's ``cp311`` tag, a ``python3.11`` binary and a CUDA ``12.4`` name."""
    parts = numbers(version)
    return ".".join(str(p) for p in parts[:2])


def is_python_release(want: str, have: str) -> bool:
    """Whether an interpreter of version ``have`` (``3.11.7``) is the Python ``want`` a lock records: that version,
    or, where ``want`` names a minor release alone (``3.11``: an imported pylock's ``requires-python = "==3.11.*"``),
    any patch release of it. One rule for check, verify and the venv rebuild's choice of an interpreter."""
    return have == want or (bool(want) and want == major_minor(want) and major_minor(have) == want)


# The Debian packages the CPython X.Y interpreter runs from (``python3.11``: the program; its ``-minimal`` and the
# ``libpython3.11-minimal`` and ``-stdlib`` hold what it loads at start and the standard library). One source
# package builds them all at one version; ``-venv`` (ensurepip, which ``python3.11 -m venv`` needs) is built with
# them, and a container rebuild installs it too.
_INTERPRETER_DEBS = ("python{v}", "python{v}-minimal", "libpython{v}-minimal", "libpython{v}-stdlib")


def interpreter_debs(version: str, *, venv: bool = False) -> tuple[str, ...]:
    """The Debian packages of CPython ``version``'s minor line (``3.11.2`` -> ``python3.11``, ...); with ``venv``,
    ``python3.11-venv`` too."""
    line = major_minor(version)
    names = tuple(n.format(v=line) for n in _INTERPRETER_DEBS)
    return (*names, f"python{line}-venv") if venv else names


def debian_upstream(version: str) -> str:
    """A Debian version's upstream part: ``1:3.11.2-6+deb12u8`` -> ``3.11.2``."""
    return version.split(":", 1)[-1].rsplit("-", 1)[0]


__all__ = [
    "DEBIAN_ARCH",
    "MACHINE_ALIASES",
    "debian_arch",
    "debian_upstream",
    "interpreter_debs",
    "machine",
    "major_minor",
    "numbers",
    "with_article",
]
