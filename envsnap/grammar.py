"""The grammar of every value a lock, a bundle or an imported file may carry.

A lock is untrusted input (docs/security.md). These predicates are the one place that says what a name, a
version, a file name, a hash or a URL may look like; the lockfile loader, the importers and the bundle
reader call them at the boundary, and code that joins a value to a path or passes it to a program calls the
``require_*`` forms again right there (defence in depth). Each predicate is pure and cheap.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeGuard

from ._control import escape_unshown as escape_unshown
from ._control import has_bidi as has_bidi
from ._control import has_control as has_control
from ._control import has_unshown as has_unshown
from ._control import strip_control as strip_control
from ._control import strip_terminal as strip_terminal
from ._lazyre import LazyPattern

if TYPE_CHECKING:
    import datetime
    from urllib.parse import SplitResult

    from packaging.version import InvalidVersion, Version

# The longest name (a project's, a conda package's) or conda version a lock may hold: no real one comes near it,
# and every other text of a lock is bounded too (a 100,000-character metadata_name was taken).
MAX_NAME = 255
# PEP 508 / core metadata: a project name as a distribution may spell it.
_PROJECT_NAME = LazyPattern(rf"(?=.{{1,{MAX_NAME}}}\Z)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
# PEP 503 normalised form, what the lock stores in ``name``.
_CANONICAL_NAME = LazyPattern(rf"(?=.{{1,{MAX_NAME}}}\Z)[a-z0-9]+(-[a-z0-9]+)*", re.ASCII)
# A legacy version an installer really wrote (pre-PEP 440): printable, no spaces or shell/requirement
# metacharacters. Kept and flagged; never reaches a command line or a file name.
_LEGACY_VERSION = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,127}", re.ASCII)
_SHA256_HEX = LazyPattern(r"[0-9a-f]{64}", re.ASCII)
_MD5_HEX = LazyPattern(r"[0-9a-f]{32}", re.ASCII)
# conda: name, version and build string (conda's MatchSpec grammar, conservatively).
_CONDA_NAME = LazyPattern(rf"(?=.{{1,{MAX_NAME}}}\Z)[a-z0-9_][a-z0-9_.-]*", re.ASCII)
# A recorded version is one package's, never a MatchSpec: no "*" (conda reads zlib=1.*=h0 as any 1.x) and no other
# operator (<>=~|,!= and spaces); "!" is the epoch's (1!164.3095), as conda's VersionOrder reads it.
_CONDA_VERSION = LazyPattern(rf"[A-Za-z0-9_.+!-]{{1,{MAX_NAME}}}", re.ASCII)
_CONDA_BUILD = LazyPattern(rf"[A-Za-z0-9_.+]{{0,{MAX_NAME}}}", re.ASCII)
_CONDA_SUBDIR = LazyPattern(r"(noarch|[a-z0-9]+-[a-z0-9_]+)", re.ASCII)
_CONDA_FILE = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.+!-]*\.(conda|tar\.bz2)", re.ASCII)
# Debian policy 5.6.1 / 5.6.12: package names and versions.
_DEB_NAME = LazyPattern(r"[a-z0-9][a-z0-9+.-]+", re.ASCII)
_DEB_VERSION = LazyPattern(r"([0-9]+:)?[A-Za-z0-9.+~-]+", re.ASCII)
_DEB_FILE = LazyPattern(r"[a-z0-9][a-z0-9+.-]+_[A-Za-z0-9.+~%-]+_[a-z0-9-]+\.deb", re.ASCII)
_SOURCE_ARCHIVE = LazyPattern(r"\.(tar\.gz|tgz|zip|tar\.bz2|tar\.xz|tar)$")
# A docker image id or digest.
_IMAGE_DIGEST = LazyPattern(r"sha256:[0-9a-f]{64}", re.ASCII)
# RFC 3339 timestamp as envsnap writes ``created`` (seconds or fractions, Z or an offset).
_TIMESTAMP = LazyPattern(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.ASCII)

_SPACE = LazyPattern(r"\s")
URL_SCHEMES = frozenset({"https", "http", "file", "git+https", "git+http", "git+ssh", "git+file", "git", "ssh"})

# Integers in a lock are counts, sizes and versions: none is near 2**53 (JSON-safe).
MAX_INT = 2**53


class GrammarError(ValueError):
    """A value does not match its grammar; the message says what was expected, never echoes raw bytes."""


def is_project_name(text: str) -> bool:
    return _PROJECT_NAME.fullmatch(text) is not None


def is_canonical_name(text: str) -> bool:
    return _CANONICAL_NAME.fullmatch(text) is not None


# packaging's version parser, the URL splitter and datetime are imported when a value first needs them: a command
# that reads no lock text (a diff answered from the parsed-lock cache) loads this module for its rules only.
@functools.cache
def _urlsplit() -> Callable[[str], SplitResult]:
    from urllib.parse import urlsplit

    return urlsplit


@functools.cache
def _version() -> tuple[type[Version], type[InvalidVersion]]:
    from packaging.version import InvalidVersion, Version

    return Version, InvalidVersion


def is_pep440(text: str) -> bool:
    """A PEP 440 version of at most ``MAX_NAME`` characters. PEP 440 sets no length, but a version is compared
    as numbers everywhere: a release number of 4,301 digits is past what ``int()`` converts, and ended every
    command that read such a lock in a traceback."""
    if len(text) > MAX_NAME:
        return False
    version, invalid = _version()
    try:
        version(text)
    except (invalid, ValueError):
        return False
    return not has_control(text) and text == text.strip()


def is_legacy_version(text: str) -> bool:
    """A version that is not PEP 440 but is still safe to keep as data (flagged, never executed)."""
    return _LEGACY_VERSION.fullmatch(text) is not None


def is_version(text: str) -> bool:
    # The legacy form first: one regular expression, where most versions pass, before building a Version.
    return is_legacy_version(text) or is_pep440(text)


def is_sha256_hex(text: str) -> bool:
    return _SHA256_HEX.fullmatch(text) is not None


def is_md5_hex(text: str) -> bool:
    return _MD5_HEX.fullmatch(text) is not None


def is_timestamp(text: str) -> bool:
    """An RFC 3339 time that names a moment: the shape (``_TIMESTAMP``), a real date and time of day (not
    2026-02-30 or 25:61), an offset below a day, and a moment that exists in UTC too (9999-12-31T23:59:59-23:59 is
    after the last one Python's datetime holds: a tool that converts it fails)."""
    return _TIMESTAMP.fullmatch(text) is not None and _moment(text) is not None


def timestamp(text: str) -> datetime.datetime | None:
    """An RFC 3339 timestamp (``is_timestamp``) as an aware datetime; None for anything else."""
    text = text.strip()
    return _moment(text) if _TIMESTAMP.fullmatch(text) is not None else None


def _moment(text: str) -> datetime.datetime | None:
    """``text``, of ``_TIMESTAMP``'s shape, as an aware datetime; None where it names no moment (above)."""
    import datetime

    offset = text[-6:] if text[-1] != "Z" else "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text[:19] + offset)
        moment.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):  # 2024-13-45T99:00:00Z has the shape, not the meaning
        return None
    return moment


def _all_timestamps(values: Sequence[str]) -> bool:
    match = _TIMESTAMP.compiled.fullmatch
    return all(map(match, values)) and all(_moment(v) is not None for v in values)


def is_image_digest(text: str) -> bool:
    return _IMAGE_DIGEST.fullmatch(text) is not None


def is_conda_name(text: str) -> bool:
    return _CONDA_NAME.fullmatch(text) is not None


def is_conda_version(text: str) -> bool:
    return _CONDA_VERSION.fullmatch(text) is not None


def is_conda_build(text: str) -> bool:
    return _CONDA_BUILD.fullmatch(text) is not None


# A conda package's ``depends`` entry: a MatchSpec as repodata and conda-meta write it. A channel before ``::``
# (``conda-forge::``, ``pkgs/main::``), the name, then words of a version spec and a build string (an operator may
# stand apart from its version, ``depend > 1.1.1``, or touch the name, ``python>=3.11``), and conda's
# ``[key='value']`` brackets. One line of printable ASCII: no ``#``, ``:`` but the channel's, quote outside the
# brackets, control, bidi or separator character (an entry became a dependency's name in conda-lock.yml).
_CONDA_SPEC_CHARS = r"A-Za-z0-9_.*,|<>=!~+()\-"
_CONDA_DEPENDS = LazyPattern(
    r"(?:[A-Za-z0-9_.+-]+(?:/[A-Za-z0-9_.+-]+)*::)?"
    r"([A-Za-z0-9_][A-Za-z0-9_.+-]*)"
    rf"((?:[<>=!~][{_CONDA_SPEC_CHARS}]*)?(?: +[{_CONDA_SPEC_CHARS}]+)*)"
    rf"(?: ?\[([{_CONDA_SPEC_CHARS}'\" ]*)\])?",
    re.ASCII,
)
_CONDA_JOINED = LazyPattern(r"(?<=[<>=!~,|]) +| +(?=[,|])")  # the spaces conda drops inside a version spec
_CONDA_BRACKET_ITEM = LazyPattern(r""" *([A-Za-z_]+) *= *('[^']*'|"[^"]*"|[^,'" ]*) *(?:,|\Z)""")
MAX_CONDA_DEPENDS = 1024


def conda_dependency(text: str) -> tuple[str, str, str] | None:
    """A ``depends`` entry's (name, version spec, build string), as conda reads the MatchSpec (spaces inside
    the version spec dropped, a bracket's ``version`` and ``build`` taken; ``""`` where it names none), or None
    when ``text`` is not one."""
    match = _CONDA_DEPENDS.fullmatch(text) if len(text) <= MAX_CONDA_DEPENDS else None
    if match is None:
        return None
    name, rest, bracket = match.groups()
    words = _CONDA_JOINED.sub("", rest).split()
    if len(words) > 2:
        return None
    fields = {"version": words[0] if words else "", "build": words[1] if len(words) > 1 else ""}
    if bracket:
        at = 0
        while at < len(bracket):
            item = _CONDA_BRACKET_ITEM.compiled.match(bracket, at)
            if item is None or item.end() == at:
                return None
            key, value = item.groups()
            if key in fields:
                fields[key] = _CONDA_JOINED.sub("", value.strip("'\"")).strip()
            at = item.end()
    return name, fields["version"], fields["build"]


def is_conda_depends(text: str) -> bool:
    """A conda package's ``depends`` entry (``conda_dependency``)."""
    return conda_dependency(text) is not None


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


# The plainest wheel names (``name-1.2.3-py3-none-any.whl``: a PEP 427 name, a plain release, no build tag, every
# tag component an identifier) and plain http(s) URLs (a host without brackets, printable ASCII only): most of what
# a lock's 5,000 files hold, accepted by one regular expression each. Each form is one that the full check below
# accepts on every packaging release envsnap allows and on every Python (tests/test_grammar_fast.py compares
# them on random text); any other text takes the full check.
_PLAIN_WHEEL = LazyPattern(
    r"[A-Za-z0-9]+(?:[._][A-Za-z0-9]+)*-[0-9]{1,18}(?:\.[0-9]{1,18})*"
    r"(?:-[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*){3}\.whl",
    re.ASCII,
)
_PLAIN_HTTP_URL = LazyPattern(r"https?://(?!-)(?:[A-Za-z0-9._~%!$&'()*+,;=:-]|@(?!-))+(?:[/?#][!-~]*)?", re.ASCII)


def is_distribution_filename(text: str) -> bool:
    """A wheel, an sdist or another source archive, a conda package or a .deb, as a plain base name."""
    if len(text) <= 255 and _PLAIN_WHEEL.fullmatch(text) is not None:
        return True
    return _is_distribution_filename(text)


def _is_distribution_filename(text: str) -> bool:
    # Here, not at import: packaging.utils brings packaging.tags (logging, platform, subprocess, sysconfig), which
    # the model's import (through this module) and a lock's load need for nothing else.
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

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


def is_deb_filename(text: str) -> bool:
    """A Debian binary package file as a plain base name: ``NAME_VERSION_ARCH.deb`` (the epoch's ``:`` is
    written ``%3a`` in archive file names)."""
    return is_base_name(text) and _DEB_FILE.fullmatch(text) is not None


# What pip replaces in a requirements file before it reads a line (and conda hands it from an environment.yml):
# ``${NAME}`` by that environment variable (pip's ``ENV_VAR_RE``), with no way to write it literally.
_PIP_VARIABLE = LazyPattern(r"\$\{[A-Z0-9_]+\}")


def pip_variable(text: str) -> str:
    """The first ``${NAME}`` in ``text`` that pip replaces by an environment variable; "" for none."""
    m = _PIP_VARIABLE.search(text) if "${" in text else None
    return m.group(0) if m is not None else ""


# Any ``${...}``: pip's and uv's ``${NAME}`` above, and the forms a shell, a Dockerfile or conda's channel expansion
# read as a variable (``${name}``, ``${NAME:-x}``). An index holds none (``is_location``).
_VARIABLE_REFERENCE = LazyPattern(r"\$\{[^}]*\}")


def variable_reference(text: str) -> str:
    """The first ``${...}`` in ``text``, as an environment variable's place; "" for none."""
    m = _VARIABLE_REFERENCE.search(text) if "${" in text else None
    return m.group(0) if m is not None else ""


def is_url(text: str, schemes: frozenset[str] = URL_SCHEMES) -> bool:
    """A URL of an allowed scheme with a host (or a ``file:`` path), no control characters, whitespace or
    bidirectional formatting characters (no IRI may hold one, RFC 3987: a file shows the URL reordered), no host or
    login that begins with ``-``."""
    plain = _PLAIN_HTTP_URL.fullmatch(text) if len(text) <= 4096 else None
    if plain is not None and plain.group().partition(":")[0] in schemes:
        return True
    return _is_url(text, schemes)


def _is_url(text: str, schemes: frozenset[str]) -> bool:
    if not text or has_control(text) or has_bidi(text) or _SPACE.search(text) is not None or len(text) > 4096:
        return False
    try:
        parts = _urlsplit()(text)
    except ValueError:
        return False
    if parts.scheme not in schemes:
        return False
    if parts.scheme.endswith("file"):
        # A file URL's authority is a host or none (RFC 8089): no port, no login. ``file://https://host/x.conda``
        # (a URL pasted after ``file://``) has the host ``https:``.
        return bool(parts.path) and ":" not in parts.netloc and "@" not in parts.netloc
    # A host or login that begins with ``-`` is read as an option by the programs a URL is handed to (git's ssh:
    # ``ssh://-oProxyCommand=CMD/x`` ran CMD, CVE-2017-1000117); no real host is named so.
    return bool(parts.netloc) and not any(part.startswith("-") for part in parts.netloc.split("@"))


def file_url_bad_host(text: str) -> str:
    """The authority of a ``file:`` URL where it is no host (RFC 8089: a host or none; no port, no login), the reason
    ``is_url`` refuses ``file://https://host/x.whl`` (host ``https:``, a URL pasted after ``file://``); else ""."""
    scheme, sep, rest = text.partition("://")
    host = rest.partition("/")[0] if sep and scheme.endswith("file") else ""
    return host if ":" in host or "@" in host else ""


def file_url_bad_host_reason(text: str) -> str:
    """Why a URL whose ``file_url_bad_host`` is not "" is refused, as its message says it; else ""."""
    host = file_url_bad_host(text)
    if not host:
        return ""
    return f"a file URL's authority is a host or none, not {shown(host, 200)}: a local file is file:///PATH"


# The rules of a URL a lock records (``is_lock_url``), as a refusal names them where no one of them is the reason.
LOCK_URL_RULES = (
    "an allowed scheme, no spaces, control or bidirectional formatting characters, no host or login beginning with -"
)


def lock_url_reason(text: str) -> str:
    """The one rule a URL ``is_lock_url`` refuses breaks, where one is known: a file URL's host
    (``file_url_bad_host_reason``), a ``{project}`` path leaving the project (``leaves_project_reason``); else ""."""
    return file_url_bad_host_reason(text) or leaves_project_reason(text)


def lock_url_refused(text: str, limit: int = 80) -> str:
    """Why ``text``, a URL ``is_lock_url`` refuses, is refused, as lock loading and every importer say it: the rule
    it breaks where one is known (``lock_url_reason``), else the rules a lock's URL keeps."""
    return f"not a valid URL ({lock_url_reason(text) or LOCK_URL_RULES}): {shown(text, limit)}"


# What a conda channel a lock records may be (``is_conda_channel``), as a refusal names it where no rule is the reason.
CONDA_CHANNEL_RULES = "a URL or a name"
_CONDA_CHANNEL_NAME_RULES = "a name: parts of letters, digits and . _ - joined by /, no .."


def conda_channel_refused_reason(text: str) -> str:
    """The rule a channel ``is_conda_channel`` refuses breaks, as lock loading and the conda probe name it: a URL's
    (``file_url_bad_host_reason``, else the rules a lock's URL keeps) where it is one, else a channel name's. A
    conda-meta record's ``file://https://host/x`` was "not a valid conda channel", naming no rule."""
    if "://" in text:
        return file_url_bad_host_reason(text) or f"a URL: {LOCK_URL_RULES}"
    return _CONDA_CHANNEL_NAME_RULES


def conda_channel_refused(text: str, limit: int = 80) -> str:
    """Why ``text``, a channel ``is_conda_channel`` refuses, is refused (``conda_channel_refused_reason``)."""
    return f"not a valid conda channel ({conda_channel_refused_reason(text)}): {shown(text, limit)}"


def is_bounded_int(value: object, lo: int = 0, hi: int = MAX_INT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


# The largest file a lock records the size of (a wheel, an sdist, a .deb): 1 TiB.
MAX_FILE_SIZE = 2**40


def is_file_size(value: object) -> TypeGuard[int]:
    """A file's size in bytes as a lock or an imported file records it: an integer (never a boolean, which Python
    counts as one: ``size = true`` is no size of 1 byte), 0 to ``MAX_FILE_SIZE``."""
    return is_bounded_int(value, 0, MAX_FILE_SIZE)


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


def is_pth_file_entry(text: str) -> bool:
    """One module file of a ``.pth`` folder as the lock lists it (``python.pth_folders.files``): ``PATH SIZE
    SHA256`` (``PATH - unreadable`` for one that could not be read), ``PATH`` a relative path of plain names ending
    ``.py``, ``.so`` or ``.pyd`` (it may hold spaces: the two fields after it do not)."""
    path, _, rest = text.rpartition(" ")
    path, _, size = path.rpartition(" ")
    if (size, rest) != ("-", "unreadable"):
        digits = size.isascii() and size.isdigit() and (size == "0" or not size.startswith("0"))
        if not (digits and int(size) <= MAX_FILE_SIZE and is_sha256_hex(rest)):
            return False
    return path.endswith((".py", ".so", ".pyd")) and is_relative_path(path) and is_line(path)


def is_relative_path(text: str) -> bool:
    """A path inside a folder (``wheels/a.whl``): '/'-separated plain base names, so never absolute, never
    ``..``, never hidden, no control characters; bounded."""
    return 0 < len(text) <= 4096 and all(is_base_name(part) for part in text.split("/"))


def is_relative_inside(rel: str) -> bool:
    """A relative path read from a lock that stays, as written, inside the folder it is joined to (a VCS
    ``subdirectory``, a path under ``{project}``): not absolute, no ``..`` part, no backslash, no control character,
    not starting with ``-``. The one rule ``_fs.join_relative`` (which then resolves links) and the lock loader
    (``leaves_project``) apply."""
    return not (rel.startswith(("/", "\\", "-")) or ".." in rel.split("/") or "\\" in rel or has_control(rel))


def leaves_project(text: str) -> str:
    """The path below the label of a ``file://{project}/...`` URL where it is not a relative path inside the
    project (``../../x`` of ``file://{project}/../../x``, percent-decoded and normalised as every reader takes it:
    ``fileurls.file_url_path``); "" for any other text. Bundle, pin and rebuild refused such a folder, every export
    wrote it (``pip install ../../x``): the loader refuses it (docs/security.md)."""
    if not text.startswith("file://{project}"):
        return ""
    from .fileurls import file_url_path

    path = file_url_path(text)
    return "" if is_relative_inside(path) else path


def leaves_project_reason(text: str) -> str:
    """Why a URL ``leaves_project`` is refused, as its message says it (the words ``_fs.join_relative`` uses); else
    ""."""
    path = leaves_project(text)
    return f"{{project}} path {shown(path, 80)}: not a relative path inside the project" if path else ""


# ------------------------------------------------------------------------------------------------------------
# The rest of a lock's fields (the lockfile loader checks every field against one of these; docs/lockfile.md).

# Every scheme a recorded URL may have (PEP 610 VCS forms included); which of them envsnap may fetch from is a
# separate policy, not a matter of syntax.
LOCK_URL_SCHEMES = URL_SCHEMES | frozenset(
    {
        "hg+https",
        "hg+http",
        "hg+ssh",
        "hg+file",
        "svn",
        "svn+https",
        "svn+http",
        "svn+ssh",
        "svn+file",
        "bzr+https",
        "bzr+http",
        "bzr+ssh",
        "bzr+sftp",
        "bzr+ftp",
        "bzr+lp",
        "bzr+file",
        "git+git",
    }
)
# envsnap's own labels for redacted local paths (docs/lockfile.md): file://{project}/..., file://~/...
_FILE_LABEL = LazyPattern(r"file://(\{project\}|\{prefix\}|~)(/[^\s]*)?", re.ASCII)
# A wheel the bundle built from a repository that is the labelled folder itself, at its revision: the project's own
# repository (``git+file://{project}@COMMIT``), which has no path for ``is_url`` to find and no host or login
# (``is_artifact_url``).
_VCS_FILE_LABEL_REV = LazyPattern(
    r"([a-z]+)\+file://(\{project\}|\{prefix\}|~)@[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,254}", re.ASCII
)
MAX_TEXT = 4096
_TOKEN = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.+~-]{0,127}", re.ASCII)
# platform.python_version(): 3.11.7, 3.13.0rc1, 3.14.0a1, and "3.12.0+" for a build from a branch.
_LIBC_VERSION = LazyPattern(r"[0-9]{1,3}(\.[0-9]{1,3}(\.[0-9]{1,9}){0,2})?", re.ASCII)
_PYTHON_VERSION = LazyPattern(r"[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?((a|b|rc)[0-9]{1,3})?\+?", re.ASCII)
# A git/hg commit (hex), an svn revision number, a bzr revision id.
_COMMIT = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.@:+-]{0,254}", re.ASCII)
# A branch or tag as git check-ref-format allows it, conservatively (no spaces, no ~^:?*[\, no leading -).
_GIT_REF = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_./+@=,-]{0,254}", re.ASCII)
# PEP 427 tag triple; compressed tag sets (py2.py3) included.
_WHEEL_TAG = LazyPattern(r"[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+", re.ASCII)
_HASH_PAIR = LazyPattern(r"(md5|sha1|sha224|sha256|sha384|sha512)=[0-9a-f]{32,128}", re.ASCII)
_ENV_NAME = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]{0,255}", re.ASCII)
_CONDA_CHANNEL_NAME = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*", re.ASCII)
_SYSTEM_NAME = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}", re.ASCII)
_SYSTEM_VERSION = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.+~:^-]{0,254}", re.ASCII)
_SONAME = LazyPattern(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}", re.ASCII)
_ARCH = LazyPattern(r"(sm|compute|lto)_[0-9]{1,4}[a-z]?", re.ASCII)
_COMPUTE_CAPABILITY = LazyPattern(r"[0-9]{1,3}\.[0-9]{1,3}", re.ASCII)
_PRINTABLE_ASCII = LazyPattern(r"[\x20-\x7e]*")


def is_text(text: str, limit: int = MAX_TEXT) -> bool:
    """Free text a lock may record (a warning, a model name): no control characters, bounded."""
    return len(text) <= limit and not has_control(text)


def is_line(text: str, limit: int = MAX_TEXT) -> bool:
    """Free text of a known shape (a path, an error message, a Requires-Dist line), shown as it reads: ``is_text``
    and no bidirectional formatting character or line/paragraph separator (U+2028, U+2029), which would show it
    reordered or broken in two wherever it is written raw (the lock itself, JSON)."""
    return is_text(text, limit) and not has_unshown(text)


def all_lines(values: Iterable[str], limit: int = MAX_TEXT) -> bool:
    """``all(is_line(v, limit) for v in values)``, as ``all_text`` does it."""
    values = list(values)
    return all_text(values, limit) and not has_unshown("".join(values))


def is_token(text: str) -> bool:
    """A short identifier-like value (an arch, a kernel release, an installer's name)."""
    return _TOKEN.fullmatch(text) is not None


def is_installer(text: str) -> bool:
    """The content of a distribution's ``INSTALLER`` file: a command name or printable ASCII (the packaging
    spec's words), so no bidirectional formatting or line separator reaches pylock.toml."""
    return len(text) <= 128 and _PRINTABLE_ASCII.fullmatch(text) is not None


def is_requires_python(text: str) -> bool:
    """A ``Requires-Python`` as METADATA holds it: a PEP 440 specifier set is printable ASCII (an ``===`` clause
    may hold any character but whitespace, so parsing is not enough). One that does not parse (``>=3.6.*``, from
    an older setuptools) is kept as legacy versions are: check warns that it cannot read it."""
    return len(text) <= 1024 and _PRINTABLE_ASCII.fullmatch(text) is not None


def is_libc_version(text: str) -> bool:
    """A C library's version as a capture reads it (glibc's ``confstr``, the musl loader's banner): ``2.36``,
    ``1.2.4``, a development glibc's ``2.39.9000``. The first two numbers are bounded because the wheel tags a
    target supports are one per glibc or musl minor release up to the lock's: a stranger's ``2.999999999`` was a
    billion of them."""
    return _LIBC_VERSION.fullmatch(text) is not None


def is_python_version(text: str) -> bool:
    """An interpreter version as ``platform.python_version()`` gives it (nothing a path or option can hide in)."""
    return _PYTHON_VERSION.fullmatch(text) is not None


# The Python release series an interpreter's ABI tag or SOABI names, with CPython's ABI flags (``m``, ``d``, ``t``):
# ``cp311``, ``cp313t``, ``pypy310_pp73_x86_64_linux_gnu`` (a capture's tag for PyPy: its SOABI with ``_``);
# ``cpython-311-x86_64-linux-gnu``, ``cp313-win_amd64`` (Windows), ``pypy310-pp73-x86_64-linux-gnu``.
_ABI_SERIES = LazyPattern(r"(?:cp([0-9])([0-9]{1,3})([a-z]*)|pypy([0-9])([0-9]{1,3})_pp[0-9]+(?:_.*)?)", re.ASCII)
_SOABI_SERIES = LazyPattern(
    r"(?:(?:cpython-|cp)([0-9])([0-9]{1,3})([a-z]*)-.+|pypy([0-9])([0-9]{1,3})-pp[0-9]+(?:-.*)?)", re.ASCII
)


def python_series(version: str) -> tuple[int, int] | None:
    """(major, minor) of a ``python.version`` (``3.11.7``: (3, 11)); None where it is not one (blank)."""
    if not is_python_version(version):
        return None
    from .platforms import numbers  # the one reading of a release's numbers

    major, minor = numbers(version)[:2]
    return major, minor


def abi_series(abi: str, *, soabi: bool = False) -> tuple[int, int, str | None] | None:
    """(major, minor, ABI flags) an ABI tag names (``cp313t``: (3, 13, "t")), or a SOABI where ``soabi``
    (``cpython-313t-x86_64-linux-gnu``); flags None for PyPy, which has none. None for a form not known here (an
    implementation whose tag names no Python series, a blank): nothing to compare."""
    match = (_SOABI_SERIES if soabi else _ABI_SERIES).fullmatch(abi)
    if match is None:
        return None
    if match.group(1) is not None:
        return int(match.group(1)), int(match.group(2)), match.group(3)
    return int(match.group(4)), int(match.group(5)), None


def is_commit_id(text: str) -> bool:
    return _COMMIT.fullmatch(text) is not None


_GIT_COMMIT = LazyPattern(r"[0-9a-f]{7,64}", re.ASCII)


def is_git_commit(text: str) -> bool:
    """A git commit id: sha1 or sha256 hex, possibly abbreviated (``git+URL@0f1e2d3``); not a branch or tag name."""
    return _GIT_COMMIT.fullmatch(text) is not None


# What the capture's privacy rules put in place of a name or a secret (docs/lockfile.md, "Privacy").
PLACEHOLDERS = ("<user>", "<host>", "<redacted>")


def is_git_ref(text: str) -> bool:
    """A branch or tag; the privacy placeholders may stand for a part of it (``<user>/fix``)."""
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, placeholder[1:-1])
    return _GIT_REF.fullmatch(text) is not None and ".." not in text and not text.endswith((".", "/", ".lock"))


# What git check-ref-format refuses anywhere in a ref: space, ~ ^ : ? * [ and the backslash.
_GIT_BRANCH_REFUSED = frozenset(" ~^:?*[\\")


def is_git_branch(text: str) -> bool:
    """A checked-out branch as git allows its name (``git check-ref-format --branch``), not only ``is_git_ref``'s
    conservative subset: capture records whatever branch is checked out (``exp/lr_0.1%&#$``, ``fix/données``),
    and a lock that refused it would fail every later command. Recorded and shown, never passed to a program:
    a sink escapes it (Markdown, LaTeX, JSON); no control or bidirectional formatting character, no leading
    ``-``, 255 characters at most."""
    parts = text.split("/")
    return (
        0 < len(text) <= 255
        and not text.startswith("-")
        and text != "@"
        and "@{" not in text
        and ".." not in text
        and not text.endswith(".")
        and not has_control(text)
        and not has_bidi(text)
        and not _GIT_BRANCH_REFUSED.intersection(text)
        and all(part and not part.startswith(".") and not part.endswith(".lock") for part in parts)
    )


def is_wheel_tag(text: str) -> bool:
    return _WHEEL_TAG.fullmatch(text) is not None


def is_hash_pair(text: str) -> bool:
    """``<algorithm>=<hex>``, as PEP 610 ``archive_info.hash`` writes it."""
    return _HASH_PAIR.fullmatch(text) is not None


_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
_BARE_HEX = {32: "md5", 64: "sha256"}


def split_hash(text: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a hash however it is spelt: ``sha256:<hex>`` (envsnap's digests, pip's
    ``--hash``, a conda explicit file), ``sha256=<hex>`` (PEP 610 ``archive_info.hash``, RECORD) or bare hex
    (an artifact's ``sha256``, a conda ``md5``: the algorithm is known from its length). The one reader of
    the three spellings; ``("", "")`` for an empty text or anything else."""
    algo, sep, value = text.partition(":") if ":" in text else text.partition("=")
    if not sep:
        algo, value = _BARE_HEX.get(len(text), ""), text
    algo = algo.lower()
    if algo not in _ALGORITHMS or not value or re.fullmatch(r"[0-9a-f]+", value, re.ASCII) is None:
        return "", ""
    return algo, value


def is_sha256_digest(text: str) -> bool:
    """``sha256:<64 hex>``, envsnap's digests (content, RECORD, diff) and image ids."""
    return is_image_digest(text)


def is_lock_url(text: str) -> bool:
    """A URL as a lock records it: an allowed scheme (VCS forms included), or envsnap's redacted ``file://``
    labels; never control characters or whitespace."""
    if _FILE_LABEL.fullmatch(text) is not None:
        return not has_control(text) and len(text) <= 4096 and not leaves_project(text)
    return is_url(text, LOCK_URL_SCHEMES)


def is_artifact_url(text: str) -> bool:
    """The URL of a package's file as a lock records it: ``is_lock_url``, or for a wheel the bundle built from a
    repository a label names whole, that repository at its revision (``git+file://{project}@COMMIT``)."""
    m = _VCS_FILE_LABEL_REV.fullmatch(text)
    return f"{m.group(1)}+file" in LOCK_URL_SCHEMES if m is not None else is_lock_url(text)


def is_env_name(text: str) -> bool:
    return _ENV_NAME.fullmatch(text) is not None


def is_conda_channel(text: str) -> bool:
    """A channel as a lock records it: its base URL, or (old records) its name such as ``pkgs/main``."""
    return is_lock_url(text) or (_CONDA_CHANNEL_NAME.fullmatch(text) is not None and ".." not in text)


def is_system_name(text: str) -> bool:
    """A dpkg, rpm or apk package name."""
    return _SYSTEM_NAME.fullmatch(text) is not None


def is_system_version(text: str) -> bool:
    """A dpkg (epoch:upstream-revision), rpm (version-release) or apk (1.2-r0) version."""
    return _SYSTEM_VERSION.fullmatch(text) is not None


def is_soname(text: str) -> bool:
    return _SONAME.fullmatch(text) is not None and is_base_name(text)


def is_cuda_arch(text: str) -> bool:
    """``sm_90``, ``sm_90a``, ``compute_80``: a cubin or PTX target of a framework build."""
    return _ARCH.fullmatch(text) is not None


def is_ptx_isa(text: str) -> bool:
    """A PTX ISA version, ``8.8``: what a fat binary's PTX entry header holds."""
    major, dot, minor = text.partition(".")
    return bool(dot) and all(p.isascii() and p.isdigit() and len(p) <= 2 for p in (major, minor)) and major != "0"


def is_compute_capability(text: str) -> bool:
    return _COMPUTE_CAPABILITY.fullmatch(text) is not None


# A GPU as NVML names it (nvmlDeviceGetUUID: "GPU-" and a 5-part hexadecimal UUID; a MIG device "MIG-<uuid>",
# before driver R470 "MIG-GPU-<uuid>/<gi>/<ci>") and its board serial (nvmlDeviceGetSerial: at most 30 characters,
# letters and digits on every board seen). The capture records only what has these forms (probes/nvidia.py).
_GPU_UUID = LazyPattern(
    r"(?:GPU|MIG)-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    r"|MIG-GPU-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}/[0-9]{1,4}/[0-9]{1,4}",
    re.ASCII,
)
_GPU_SERIAL = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)


def is_gpu_uuid(text: str) -> bool:
    return _GPU_UUID.fullmatch(text) is not None


def is_gpu_serial(text: str) -> bool:
    return _GPU_SERIAL.fullmatch(text) is not None


_GENERATOR = LazyPattern(r"[A-Za-z0-9][A-Za-z0-9 ._+()/:@,=-]{0,199}", re.ASCII)
_TABLE_PATH = LazyPattern(r"[a-z_]{1,64}(\.[a-z_]{1,64})?", re.ASCII)


def is_generator(text: str) -> bool:
    """``envsnap 0.1.0``, ``envsnap import from uv 0.5.0``: a tool's name and version, nothing markup-like."""
    return _GENERATOR.fullmatch(text) is not None and text == text.strip()


def is_table_path(text: str) -> bool:
    """A lock table or dotted field name (``nvidia``, ``platform.kernel``), as ``envsnap.unknown`` lists them."""
    return _TABLE_PATH.fullmatch(text) is not None


def is_location(text: str) -> bool:
    """Where a file was found: a URL a lock may record, or a local path (display only; never an option). Neither
    holds a bidirectional formatting character: the index is written into requirements files and pylock.toml.

    A text with a scheme (``://``) is a URL, and only one a lock may record (no space): every export reads such an
    index as an index URL (``interchange.is_find_links``), and pylock's ``index`` is one (PEP 751), so
    ``https://h/simple/ --trusted-host evil`` is no path with a space but a URL the lock is refused for.

    Nor does it hold a ``${...}``: pip and uv replace ``${NAME}`` in a requirements file by that environment variable
    (``--find-links ${PIP_TOKEN}``, ``https://h/${AWS_SECRET_ACCESS_KEY}/simple``: a secret sent to a host, or an
    index the reader's environment chooses). The importer leaves such an index out and the requirements export
    refused it, but it loaded as a local folder, and pylock, json and the appendix formats wrote it as it was."""
    if has_bidi(text) or leaves_project(text) or variable_reference(text):
        return False
    if "://" in text:
        return is_lock_url(text)
    return is_text(text, 1024) and text[:1] not in ("", "-") and text == text.strip()


def location_refused_reason(text: str) -> str:
    """The rule an index ``is_location`` refuses breaks: a URL's (``lock_url_reason``, else the rules a lock's URL
    keeps) where it has a scheme, else a ``{project}`` path leaving the project (``leaves_project_reason``); first, a
    ``${...}`` it holds (``variable_reference``)."""
    variable = variable_reference(text)
    if variable:
        if pip_variable(variable):
            return f"it holds {shown(variable, 60)}, which pip and uv replace by an environment variable's value"
        # ``${name}``, ``${A:-b}``: pip leaves it as written and uv refuses it, but a shell reads it as a variable.
        return f"it holds {shown(variable, 60)}, a variable's place: pip and uv replace ${{NAME}} by its value"
    if "://" in text:
        return lock_url_reason(text) or f"a URL: {LOCK_URL_RULES}"
    return leaves_project_reason(text)


def is_remote(text: str) -> bool:
    """A git remote: a URL, ``user@host:path`` or a local path; no whitespace, never option-like."""
    return is_text(text) and text[:1] not in ("", "-") and not any(ch.isspace() for ch in text)


# The Python a rebuild looks up by itself (PATH, pyenv, uv): a release number only. A pre-release or local
# build (``3.13.0rc1``, ``3.12.0+``) is a valid recorded version, but an interpreter for it is named with
# --python, never searched for.
_RELEASE_NUMBER = LazyPattern(r"[0-9]{1,2}\.[0-9]{1,3}(\.[0-9]{1,3})?", re.ASCII)
PYTHON_IMPLEMENTATIONS = frozenset({"cpython", "pypy", "graalpy"})


def is_release_number(text: str) -> bool:
    """``X.Y`` or ``X.Y.Z``: the only form of a locked Python version that looks up an interpreter."""
    return _RELEASE_NUMBER.fullmatch(text) is not None


# The predicates above that are exactly one expression's ``fullmatch(text) is not None``: a lock's checks test a
# column of values with the compiled expression's own method (``lockfile.Rule.many``), no Python call per value.
_FULLMATCH: dict[Callable[[str], bool], LazyPattern] = {
    is_project_name: _PROJECT_NAME,
    is_canonical_name: _CANONICAL_NAME,
    is_sha256_hex: _SHA256_HEX,
    is_md5_hex: _MD5_HEX,
    is_image_digest: _IMAGE_DIGEST,
    is_sha256_digest: _IMAGE_DIGEST,
    is_token: _TOKEN,
    is_wheel_tag: _WHEEL_TAG,
    is_hash_pair: _HASH_PAIR,
    is_env_name: _ENV_NAME,
    is_gpu_uuid: _GPU_UUID,
    is_gpu_serial: _GPU_SERIAL,
}


def all_of(predicate: Callable[[str], bool]) -> Callable[[Sequence[str]], bool] | None:
    """``lambda values: all(map(predicate, values))`` at C speed where there is a way: a test of the values at
    once (``_ALL``: the joined text of a column of digests, the fast path of a predicate that has one, where every
    value matching it passes and the values are tested one by one only when one does not), or the compiled
    expression ``predicate`` is; None where there is none."""
    bulk = _ALL.get(predicate)
    if bulk is not None:
        return bulk
    pattern = _FULLMATCH.get(predicate)
    if pattern is not None:
        match = pattern.compiled.fullmatch  # a match is true, None false: the predicate's verdict
        return lambda values: all(map(match, values))
    return _ALL.get(predicate)


def _all_versions(values: Sequence[str]) -> bool:
    return all(map(_LEGACY_VERSION.compiled.fullmatch, values)) or all(map(is_version, values))


def _all_distribution_filenames(values: Sequence[str]) -> bool:
    plain = not values or (max(map(len, values)) <= 255 and all(map(_PLAIN_WHEEL.compiled.fullmatch, values)))
    return plain or all(map(is_distribution_filename, values))


def _all_lock_urls(values: Sequence[str]) -> bool:
    # A plain http(s) URL is no file:// label, and its scheme is one a lock allows: is_lock_url's fast path.
    plain = not values or (max(map(len, values)) <= 4096 and all(map(_PLAIN_HTTP_URL.compiled.fullmatch, values)))
    return plain or all(map(is_lock_url, values))


_HEX_DIGITS = b"0123456789abcdef"


def _all_sha256_hex(values: Sequence[str]) -> bool:
    # 64 characters each, and no character of them all but a lower-case hex digit: one pass of C over the joined
    # text (a lock's 5,000 sha256 took 2 ms as one match each, 0.3 ms so).
    if not values:
        return True
    joined = "".join(values)
    return set(map(len, values)) == {64} and _hex_digits_only(joined)


def _all_sha256_digests(values: Sequence[str]) -> bool:
    # ``sha256:`` at the start of each, then 64 hex digits (none of which is the colon of another ``sha256:``).
    if not values:
        return True
    if set(map(len, values)) != {71} or not all(map(str.startswith, values, itertools.repeat("sha256:"))):
        return False
    return _hex_digits_only("".join(values).replace("sha256:", ""))


def _hex_digits_only(text: str) -> bool:
    return text.isascii() and not text.encode("ascii").translate(None, _HEX_DIGITS)


_ALL: dict[Callable[[str], bool], Callable[[Sequence[str]], bool]] = {
    is_sha256_hex: _all_sha256_hex,
    is_sha256_digest: _all_sha256_digests,
    is_image_digest: _all_sha256_digests,
    is_version: _all_versions,
    is_distribution_filename: _all_distribution_filenames,
    is_lock_url: _all_lock_urls,
    is_timestamp: _all_timestamps,
}


def all_text(values: Iterable[str], limit: int = MAX_TEXT) -> bool:
    """``all(is_text(v, limit) for v in values)``, in two passes of C: no value longer than ``limit``, and no
    control character in any (joining them adds none)."""
    values = list(values)
    return not values or (max(map(len, values)) <= limit and not has_control("".join(values)))
