"""The grammar of every value a lock, a bundle or an imported file may carry.

A lock is untrusted input (docs/security.md). These predicates are the one place that says what a name, a
version, a file name, a hash or a URL may look like; the lockfile loader, the importers and the bundle
reader call them at the boundary, and code that joins a value to a path or passes it to a program calls the
``require_*`` forms again right there (defence in depth). Each predicate is pure and cheap.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

# C0 controls, DEL and C1 controls: never allowed in a recorded value (they reach terminals and files).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# PEP 508 / core metadata: a project name as a distribution may spell it.
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
# PEP 503 normalised form, what the lock stores in ``name``.
_CANONICAL_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*", re.ASCII)
# A legacy version an installer really wrote (pre-PEP 440): printable, no spaces or shell/requirement
# metacharacters. Kept and flagged; never reaches a command line or a file name.
_LEGACY_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,127}", re.ASCII)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)
_MD5_HEX = re.compile(r"[0-9a-f]{32}", re.ASCII)
# conda: name, version and build string (conda's MatchSpec grammar, conservatively).
_CONDA_NAME = re.compile(r"[a-z0-9_][a-z0-9_.-]*", re.ASCII)
_CONDA_VERSION = re.compile(r"[A-Za-z0-9_.+!*-]+", re.ASCII)
_CONDA_BUILD = re.compile(r"[A-Za-z0-9_.+]*", re.ASCII)
_CONDA_SUBDIR = re.compile(r"(noarch|[a-z0-9]+-[a-z0-9_]+)", re.ASCII)
_CONDA_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+!-]*\.(conda|tar\.bz2)", re.ASCII)
# Debian policy 5.6.1 / 5.6.12: package names and versions.
_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+", re.ASCII)
_DEB_VERSION = re.compile(r"([0-9]+:)?[A-Za-z0-9.+~-]+", re.ASCII)
_DEB_FILE = re.compile(r"[a-z0-9][a-z0-9+.-]+_[A-Za-z0-9.+~%-]+_[a-z0-9-]+\.deb", re.ASCII)
_SOURCE_ARCHIVE = re.compile(r"\.(tar\.gz|tgz|zip|tar\.bz2|tar\.xz|tar)$")
# A docker image id or digest.
_IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
# RFC 3339 timestamp as envsnap writes ``created`` (seconds or fractions, Z or an offset).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.ASCII)

URL_SCHEMES = frozenset({"https", "http", "file", "git+https", "git+http", "git+ssh", "git+file", "git", "ssh"})

# Integers in a lock are counts, sizes and versions: none is near 2**53 (JSON-safe).
MAX_INT = 2**53


class GrammarError(ValueError):
    """A value does not match its grammar; the message says what was expected, never echoes raw bytes."""


def has_control(text: str) -> bool:
    """True when ``text`` holds a control character (newline, ESC, NUL, DEL, C1)."""
    return _CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    """``text`` with every control character replaced by U+FFFD: safe to show on a terminal."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", text)


def is_project_name(text: str) -> bool:
    return _PROJECT_NAME.fullmatch(text) is not None


def is_canonical_name(text: str) -> bool:
    return _CANONICAL_NAME.fullmatch(text) is not None


def is_pep440(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return not has_control(text) and text == text.strip()


def is_legacy_version(text: str) -> bool:
    """A version that is not PEP 440 but is still safe to keep as data (flagged, never executed)."""
    return _LEGACY_VERSION.fullmatch(text) is not None


def is_version(text: str) -> bool:
    return is_pep440(text) or is_legacy_version(text)


def is_sha256_hex(text: str) -> bool:
    return _SHA256_HEX.fullmatch(text) is not None


def is_md5_hex(text: str) -> bool:
    return _MD5_HEX.fullmatch(text) is not None


def is_timestamp(text: str) -> bool:
    return _TIMESTAMP.fullmatch(text) is not None


def is_image_digest(text: str) -> bool:
    return _IMAGE_DIGEST.fullmatch(text) is not None


def is_conda_name(text: str) -> bool:
    return _CONDA_NAME.fullmatch(text) is not None


def is_conda_version(text: str) -> bool:
    return _CONDA_VERSION.fullmatch(text) is not None


def is_conda_build(text: str) -> bool:
    return _CONDA_BUILD.fullmatch(text) is not None


def is_conda_subdir(text: str) -> bool:
    return _CONDA_SUBDIR.fullmatch(text) is not None


def is_deb_name(text: str) -> bool:
    return _DEB_NAME.fullmatch(text) is not None


def is_deb_version(text: str) -> bool:
    return _DEB_VERSION.fullmatch(text) is not None


def is_base_name(text: str) -> bool:
    """A plain file name: no separator, not ``.``/``..``, no control characters, not hidden, bounded."""
    return (
        0 < len(text) <= 255
        and "/" not in text
        and "\\" not in text
        and text not in (".", "..")
        and not text.startswith((".", "-"))
        and not has_control(text)
    )


def is_distribution_filename(text: str) -> bool:
    """A wheel, an sdist or another source archive, a conda package or a .deb, as a plain base name."""
    if not is_base_name(text):
        return False
    if text.endswith(".whl"):
        try:
            parse_wheel_filename(text)
        except InvalidWheelFilename:
            return False
        return True
    if _CONDA_FILE.fullmatch(text) or _DEB_FILE.fullmatch(text):
        return True
    if text.endswith((".tar.gz", ".zip")):
        try:
            parse_sdist_filename(text)
        except InvalidSdistFilename:
            pass
        else:
            return True
    # A source archive named by its project (a VCS or URL install rebuilt locally): same character set.
    return _SOURCE_ARCHIVE.search(text) is not None and re.fullmatch(r"[A-Za-z0-9_.+!-]+", text) is not None


def is_url(text: str, schemes: frozenset[str] = URL_SCHEMES) -> bool:
    """A URL of an allowed scheme with a host (or a ``file:`` path), no control characters or whitespace."""
    if not text or has_control(text) or any(ch.isspace() for ch in text) or len(text) > 4096:
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if parts.scheme not in schemes:
        return False
    if parts.scheme.endswith("file"):
        return bool(parts.path)
    return bool(parts.netloc)


def is_bounded_int(value: object, lo: int = 0, hi: int = MAX_INT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def require(ok: bool, what: str, value: str) -> str:
    """Return ``value`` when ``ok``; else raise GrammarError naming ``what`` (the value is shown escaped)."""
    if not ok:
        raise GrammarError(f"not a valid {what}: {shown(value)}")
    return value


def require_base_name(text: str, what: str = "file name") -> str:
    """The check to make right where a recorded name is joined to a folder."""
    return require(is_distribution_filename(text), what, text)


def shown(value: object, limit: int = 80) -> str:
    """``value`` as an error message may show it: repr-escaped, control characters visible, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def is_relative_path(text: str) -> bool:
    """A path inside a folder (``wheels/a.whl``): '/'-separated plain base names, so never absolute, never
    ``..``, never hidden, no control characters; bounded."""
    return 0 < len(text) <= 4096 and all(is_base_name(part) for part in text.split("/"))
